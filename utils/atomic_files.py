"""Writing outputs atomically: under a temporary name beside the target, renamed once complete.

A crash or a kill never leaves a half-written file (or folder) under the real
name. The temporary name is the target's plus TEMPORARY_SUFFIX, the same in
every run, so a rerun replaces what a killed run left behind, and folder
listings skip it with `is_temporary`.
"""
import contextlib
import os
import shutil

TEMPORARY_SUFFIX = ".tmp"


def temporary_path(path):
    """Returns the temporary name `path` is written under (a folder's trailing separator dropped)."""
    return path.rstrip(os.sep) + TEMPORARY_SUFFIX


def is_temporary(name):
    """Returns whether a file name is that of an output still being written (or left by a killed run)."""
    return name.endswith(TEMPORARY_SUFFIX)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


@contextlib.contextmanager
def atomic_path(path):
    """Yields the temporary path to write `path` at (a file or a folder); renames it to `path` after the block.

    The parent folder is created if needed. Use it for writers that take a path
    (Pillow, TFRecordWriter, SavedModelBuilder); `open_atomically` for a handle.

    Raises:
      Whatever the block raises; the temporary file or folder is then removed and `path` left untouched.
    """
    directory = os.path.dirname(path.rstrip(os.sep))
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = temporary_path(path)
    # A killed run's leftover: files would be overwritten anyway, but a SavedModel builder refuses a folder.
    _remove(temporary)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)


@contextlib.contextmanager
def open_atomically(path, mode="w", **kwargs):
    """Opens the temporary file of `path` (as `open(path, mode, **kwargs)` would) and renames it after the block.

    Raises:
      Whatever the block raises; the temporary file is then removed and `path` left untouched.
    """
    with atomic_path(path) as temporary, open(temporary, mode, **kwargs) as handle:
        yield handle


def remove_temporaries(folder):
    """Removes the temporary files and folders that stopped writers left under `folder`.

    Only for a folder no other writer is using at the same time.

    Returns:
      The number of temporaries removed (0 when `folder` does not exist).
    """
    removed = 0
    for root, folders, files in os.walk(folder):
        for name in [name for name in folders if is_temporary(name)]:
            shutil.rmtree(os.path.join(root, name))
            folders.remove(name)
            removed += 1
        for name in files:
            if is_temporary(name):
                os.remove(os.path.join(root, name))
                removed += 1
    return removed
