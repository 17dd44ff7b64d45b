"""The training job: the step, losses, optimizer, precision, restore, summaries, and the model it records."""
