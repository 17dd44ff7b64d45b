"""One-line checks of flag values, made before any graph is built.

Each takes the parsed flags object and flag names; a flag that the object lacks or that is
None (not given) is not checked. Each raises ValueError naming the flag, its value and the rule.
"""
import os
import tempfile


def _given(flags, names):
    for name in names:
        value = getattr(flags, name, None)
        if value is not None:
            yield name, value


def positive(flags, *names):
    """Requires each of `names` to be greater than 0."""
    for name, value in _given(flags, names):
        if not value > 0:
            raise ValueError(f"--{name}={value}: must be greater than 0")


def non_negative(flags, *names):
    """Requires each of `names` to be 0 or more."""
    for name, value in _given(flags, names):
        if not value >= 0:
            raise ValueError(f"--{name}={value}: must not be negative")


def fraction(flags, *names):
    """Requires each of `names` to lie in [0, 1)."""
    for name, value in _given(flags, names):
        if not 0 <= value < 1:
            raise ValueError(f"--{name}={value}: must be at least 0 and below 1")


def decay(flags, *names):
    """Requires each of `names` (a moving-average decay) to lie in (0, 1)."""
    for name, value in _given(flags, names):
        if not 0 < value < 1:
            raise ValueError(f"--{name}={value}: must be between 0 and 1 (e.g. 0.9999)")


def writable_directory(flags, *names):
    """Requires each of `names` (a folder to write) to be a folder that exists or can be made, and writable.

    Local folders are created; URLs (gs://...) are left to TensorFlow.
    """
    for name, value in _given(flags, names):
        if value and "://" not in value:
            _check_writable(name, value, value)


def writable_parent(flags, *names):
    """Requires the folder of each of `names` (a file or folder to be written there) to be writable, as above."""
    for name, value in _given(flags, names):
        if value and "://" not in value:
            _check_writable(name, value, os.path.dirname(os.path.abspath(value)))


def _check_writable(name, value, folder):
    if os.path.exists(folder) and not os.path.isdir(folder):
        where = "" if folder == value else f" {folder}"
        raise ValueError(f"--{name}={value}:{where} is a file, not a directory; give a directory")
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise ValueError(f"--{name}={value}: cannot write there ({error.strerror or error})") from None
