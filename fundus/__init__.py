"""Fundus photograph geometry and quality, in numpy (no TensorFlow): the disc as a circle, gradability."""
