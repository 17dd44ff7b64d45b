"""Moved to `utils.atomic_files`; this name stays only until `datasets/sample_grid.py` imports that instead."""
from utils.atomic_files import open_atomically  # noqa: F401  (re-exported for sample_grid)
