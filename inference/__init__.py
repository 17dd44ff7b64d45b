"""Running a checkpoint: one exact pass over a split or an image folder, its predictions, Grad-CAM, the model flags."""
