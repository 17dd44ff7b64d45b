"""Checkpoints on disk: which one a path names, whether its files are whole, its step, what it holds.

Every script resolves `--checkpoint_path` (a prefix such as model.ckpt-300, or a folder
holding checkpoints) here, so a missing or damaged checkpoint reads the same everywhere.

A training folder's `checkpoint` state file is kept relative and its own. TensorFlow's
Saver records absolute paths by default: after `mv TRAIN TRAIN2` they point nowhere, and
after `cp -a TRAIN COPY` they point at TRAIN, so COPY would silently resume from TRAIN's
weights. Here an entry is taken by its file name, from the folder itself.

The Supervisor behind slim.learning.train also saves on a timer thread that fires once as
training starts. With a large model and a short run, that first save (of step 0) can finish
after the final save, and the Saver then records it as the latest checkpoint: a restart or
an evaluation of the folder would silently use the older weights.
"""
import glob
import itertools
import os
import re
import shutil

from absl import logging
from google.protobuf import text_format

from slim_compat import tf
from utils import atomic_files

STATE_FILENAME = "checkpoint"
STEP_SUFFIX = re.compile(r"-(\d+)$")
GLOBAL_STEP_NAME = "global_step"
# What a killed save leaves: TensorFlow's atomic-write temporaries and the sharded save's folder.
SAVE_TEMPORARIES = ("*.tempstate*", "model.ckpt*_temp*")


def _is_single_file(prefix):
    """True for the V1 format: one file, as in the 2016 ImageNet inception_v3.ckpt."""
    return tf.gfile.Exists(prefix) and not tf.gfile.IsDirectory(prefix)


def _has_files(prefix):
    return tf.gfile.Exists(prefix + ".index") or _is_single_file(prefix)


def _write_state(directory, state, latest, all_paths):
    """Writes `state` (a CheckpointState) to `directory` with relative paths (basenames), atomically."""
    state.model_checkpoint_path = latest
    del state.all_model_checkpoint_paths[:]
    state.all_model_checkpoint_paths.extend(all_paths)
    del state.all_model_checkpoint_timestamps[:]
    with atomic_files.open_atomically(os.path.join(directory, STATE_FILENAME)) as handle:
        handle.write(text_format.MessageToString(state))


def _read_state(directory):
    try:
        return tf.train.get_checkpoint_state(directory)
    except (text_format.ParseError, tf.errors.OpError) as error:
        raise ValueError(f"{os.path.join(directory, STATE_FILENAME)}: not a checkpoint state file "
                         f"({error.__class__.__name__}); remove it or use another directory") from error


class _Entries:
    """What a folder's state file names, split into the checkpoints the folder holds and those it lacks."""

    def __init__(self, directory, state):
        self.directory = directory
        recorded = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
        self.named_latest = os.path.basename(state.model_checkpoint_path)
        self.present, self.absent = [], []
        for name in dict.fromkeys(os.path.basename(path) for path in recorded + [state.model_checkpoint_path]):
            (self.present if _has_files(os.path.join(directory, name)) else self.absent).append(name)

    @property
    def latest(self):
        """The named latest checkpoint if the folder holds it, else its highest step that remains, or None."""
        if self.named_latest in self.present:
            return self.named_latest
        remaining = _steps_on_disk(self.directory, STEP_SUFFIX.sub("", self.named_latest)) or self.present
        return remaining[-1] if remaining else None

    def problem(self):
        """One line on a named latest checkpoint whose files are gone, and what remains; None if it is there."""
        if self.named_latest in self.present:
            return None
        remains = f"the latest that remains is {self.latest}" if self.latest else "no checkpoint remains"
        return (f"{os.path.join(self.directory, STATE_FILENAME)}: its latest checkpoint {self.named_latest} has "
                f"no files in this directory (deleted, or never copied here); {remains}")


def _steps_on_disk(directory, base_name):
    """The `base_name-STEP` checkpoints whose index is in `directory`, by step."""
    names = [os.path.basename(path)[:-len(".index")]
             for path in glob.glob(os.path.join(glob.escape(directory), glob.escape(base_name) + "-*.index"))]
    return sorted((name for name in names if STEP_SUFFIX.search(name)),
                  key=lambda name: int(STEP_SUFFIX.search(name).group(1)))


def _entries(directory):
    state = _read_state(directory)
    return _Entries(directory, state) if state is not None and state.model_checkpoint_path else None


def latest_in(directory):
    """Returns the latest checkpoint of `directory` as a path inside it, or None; reads only.

    When the state file's latest checkpoint has lost its files, says so (and which one remains)
    and returns the one that remains.
    """
    entries = _entries(directory)
    if entries is None:
        return None
    if entries.problem():
        logging.warning(entries.problem())
    return os.path.join(directory, entries.latest) if entries.latest else None


def localise_state(directory):
    """Rewrites `directory`'s checkpoint state so it names only the directory's own files, relatively.

    Entries without files in `directory` (deleted, or another directory's checkpoints) are
    dropped; when the latest is among them, a warning names it and what remains. When none is
    left, the state file is removed, so training starts afresh rather than restore other weights.

    Returns:
      The latest checkpoint prefix after the repair, or None.

    Raises:
      ValueError: the state file cannot be parsed.
    """
    entries = _entries(directory)
    if entries is None:
        return None
    if entries.problem():
        logging.warning(entries.problem())
    if entries.latest is None:
        os.remove(os.path.join(directory, STATE_FILENAME))
        return None
    text = open(os.path.join(directory, STATE_FILENAME)).read()
    if entries.absent or any(os.path.isabs(path) for path in _raw_paths(text)):
        kept = [name for name in entries.present if name != entries.latest] + [entries.latest]
        _write_state(directory, _read_state(directory), entries.latest, kept)
    return os.path.join(directory, entries.latest)


def _raw_paths(state_text):
    """Returns the paths as written in a checkpoint state file (TensorFlow's reader joins relative ones)."""
    return re.findall(r'checkpoint_paths?: "([^"]*)"', state_text)


def point_latest_at_highest_step(train_dir):
    """Rewrites `train_dir`'s checkpoint state so the highest global step is the latest.

    Returns:
      The latest checkpoint prefix after the repair, or None when there is none.
    """
    state = _read_state(train_dir)
    if state is None:
        return None
    paths = [path for path in state.all_model_checkpoint_paths if STEP_SUFFIX.search(path)]
    if not paths:
        return state.model_checkpoint_path
    by_step = sorted(paths, key=lambda path: int(STEP_SUFFIX.search(path).group(1)))
    if by_step[-1] != state.model_checkpoint_path:
        _write_state(train_dir, state, os.path.basename(by_step[-1]), [os.path.basename(path) for path in by_step])
    return os.path.join(train_dir, os.path.basename(by_step[-1]))


def remove_save_temporaries(train_dir):
    """Removes what a killed checkpoint save left in `train_dir`; returns how many files or folders.

    Only for a directory no Saver is writing to at the same time.
    """
    leftovers = sorted({path for pattern in SAVE_TEMPORARIES for path in glob.glob(os.path.join(train_dir, pattern))})
    for path in leftovers:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    if leftovers:
        logging.info("Removed %d temporary file(s) of an interrupted checkpoint save in %s, e.g. %s",
                     len(leftovers), train_dir, os.path.basename(leftovers[0]))
    return len(leftovers)


def check_whole(prefix):
    """Reads every tensor of the checkpoint `prefix`, so that a damaged one is named before any graph is built.

    Raises:
      ValueError: a file is missing, short (an interrupted copy or download) or corrupt.
    """
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, RuntimeError, ValueError) as error:
        raise _damaged(prefix, f"its index cannot be read: {_first_line(error)}") from error
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, RuntimeError, ValueError) as error:
        raise _damaged(prefix, _data_damage(prefix, error)) from error


def _damaged(prefix, what):
    return ValueError(f"{prefix}: damaged checkpoint ({what}); restore its files from where they came, or delete "
                      "them to use an earlier checkpoint")


def _first_line(error):
    return (getattr(error, "message", None) or str(error) or error.__class__.__name__).strip().splitlines()[0][:160]


def _data_damage(prefix, error):
    """Says in a few words what is wrong with the checkpoint's data files."""
    if _is_single_file(prefix):
        return _first_line(error)
    data_files = sorted(glob.glob(glob.escape(prefix) + ".data-*"))
    if not data_files:
        return f"{os.path.basename(prefix)}.data-00000-of-00001 is missing"
    if isinstance(error, IndexError):
        return f"{os.path.basename(data_files[0]) if len(data_files) == 1 else 'a data file'} is shorter than " \
               "its index says"
    return _first_line(error)


def resolve(checkpoint_path):
    """Returns the whole checkpoint `checkpoint_path` names: itself, or a directory's latest.

    Raises:
      ValueError: nothing there is a checkpoint, or its files are damaged; one line naming the file.
    """
    if tf.gfile.IsDirectory(checkpoint_path):
        entries = _entries(checkpoint_path)
        if entries is None:
            raise ValueError(f"{checkpoint_path}: no checkpoint in this directory")
        if entries.latest is None:
            raise ValueError(entries.problem())
        checkpoint = latest_in(checkpoint_path)
    elif _has_files(checkpoint_path):
        checkpoint = checkpoint_path
    else:
        raise ValueError(f"{checkpoint_path}: not a checkpoint (no {os.path.basename(checkpoint_path)}.index; "
                         "expected a prefix such as model.ckpt-1000 or a directory holding one)")
    check_whole(checkpoint)
    return checkpoint


def step_of(checkpoint):
    """Returns the checkpoint's `global_step` variable, else the `-N` suffix of its name, else 0."""
    reader = tf.train.load_checkpoint(checkpoint)
    if reader.has_tensor(GLOBAL_STEP_NAME):
        return int(reader.get_tensor(GLOBAL_STEP_NAME))
    suffix = STEP_SUFFIX.search(checkpoint)
    return int(suffix.group(1)) if suffix else 0


def follow(checkpoint_path, interval_secs, timeout=None, max_evals=None):
    """Returns an iterator over each new checkpoint a training run writes, as it appears, resolved.

    Args:
      checkpoint_path: the training directory (which may not exist yet), or a checkpoint file inside it.
      interval_secs: least number of seconds between two yielded checkpoints.
      timeout: stop after this many seconds without a new checkpoint (training has stopped);
        None waits forever.
      max_evals: stop after this many checkpoints; None never stops for that.

    Returns:
      An iterator of checkpoint prefixes (see `resolve`), starting with the latest one present now.
    """
    names_a_checkpoint = tf.gfile.Exists(checkpoint_path + ".index")
    # A directory that does not exist yet is a training run that has not started: wait for it.
    directory = os.path.dirname(checkpoint_path) or "." if names_a_checkpoint else checkpoint_path
    checkpoints = tf.train.checkpoints_iterator(directory, min_interval_secs=interval_secs, timeout=timeout)
    return map(resolve, itertools.islice(checkpoints, max_evals))


def differences(checkpoint, names_to_variables):
    """Compares the variables a Saver would restore with what `checkpoint` holds.

    Args:
      checkpoint: checkpoint prefix.
      names_to_variables: {name in the checkpoint: variable}.

    Returns:
      ([names the checkpoint lacks], [(name, shape there, shape in the model)]), both sorted.
    """
    shapes = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
    missing = sorted(name for name in names_to_variables if name not in shapes)
    mismatched = sorted((name, list(shapes[name]), variable.shape.as_list())
                        for name, variable in names_to_variables.items()
                        if name in shapes and list(shapes[name]) != variable.shape.as_list())
    return missing, mismatched


def describe_differences(missing, mismatched):
    """Returns e.g. `it lacks X (and 3 more)` or `X has shape [5] there but [1001] here`, or None."""
    if mismatched:
        name, there, here = mismatched[0]
        more = f" (and {len(mismatched) - 1} more)" if len(mismatched) > 1 else ""
        return f"{name} has shape {there} there but {here} here{more}"
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return f"it lacks {missing[0]}{more}"
    return None
