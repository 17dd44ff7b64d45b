"""Models for use outside training: SavedModel and TFLite export, and graders that run them."""
