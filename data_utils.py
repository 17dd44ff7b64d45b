"""The conversion's photo preparation, under the name this project's layout gives it.

The code lives in `fundus/`, the Python and TensorFlow versions side by side:
`fundus.preparation` (Pillow: what download_and_convert_data.py writes) and
`fundus.graph_preparation` (the same pixels as TensorFlow ops, inside the SavedModel).
Scripts written against this module keep working: it offers the same public names.
"""
from fundus.preparation import *  # noqa: F401,F403  (the public names, one implementation)
