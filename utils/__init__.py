"""Helpers every stage shares: the model description, checkpoint files, shared flags, atomic files, progress."""
