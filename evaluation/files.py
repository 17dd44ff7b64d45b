"""Writing output files atomically, so a crash never leaves a half-written file under the real name."""
import contextlib
import os


@contextlib.contextmanager
def open_atomically(path, mode="w", **kwargs):
    """Opens a temporary file beside `path` and renames it to `path` once the block succeeds.

    Raises:
      Whatever the block raises; the temporary file is then removed and `path` left untouched.
    """
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, mode, **kwargs) as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
