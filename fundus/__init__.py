"""Fundus photographs: the disc as a circle, gradability, and the conversion's preparation twice, side by side.

`preparation` (Pillow and numpy) writes the converted images; `graph_preparation` gives the same
pixels as TensorFlow ops inside the SavedModel. The rest is numpy only.
"""
