"""A training directory's `checkpoint` file: relative, its own, pointing at the highest step.

TensorFlow's Saver records absolute paths by default. After `mv TRAIN TRAIN2` they point
nowhere (restarts fail, evaluation finds nothing); after `cp -a TRAIN COPY` they point at
TRAIN, and COPY would silently resume from TRAIN's weights. Here every entry names a file
of the directory itself, by a path relative to it, so the directory can move.

The Supervisor behind slim.learning.train also saves on a timer thread that fires once as
training starts. With a large model and a short run, that first save (of step 0) can finish
after the final save, and the Saver then records it as the latest checkpoint: a restart or an
evaluation of the directory would silently use the older weights.
"""
import glob
import os
import re
import shutil

from absl import logging
from google.protobuf import text_format

from slim_compat import tf
from utils import atomic_files

STATE_FILENAME = "checkpoint"
STEP_SUFFIX = re.compile(r"-(\d+)$")
# What a killed save leaves: TensorFlow's atomic-write temporaries and the sharded save's folder.
SAVE_TEMPORARIES = ("*.tempstate*", "model.ckpt*_temp*")


def _own_entries(directory, paths):
    """Returns the basenames of `paths` whose checkpoint exists in `directory`, in order, once each."""
    own = []
    for path in paths:
        name = os.path.basename(path)
        if name not in own and tf.train.checkpoint_exists(os.path.join(directory, name)):
            own.append(name)
    return own


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


def latest_in(directory):
    """Returns the latest checkpoint of `directory` as a path inside it, or None; reads only.

    An entry is taken by its file name, so a moved or copied directory gives its own file.
    """
    state = _read_state(directory)
    if state is None or not state.model_checkpoint_path:
        return None
    own = _own_entries(directory, [state.model_checkpoint_path])
    return os.path.join(directory, own[0]) if own else None


def localise_state(directory):
    """Rewrites `directory`'s checkpoint state so it names only the directory's own files, relatively.

    Entries whose file is not in `directory` (another directory's checkpoints) are dropped with a
    warning; when none is left the state file is removed, so training starts afresh rather than
    restore another directory's weights.

    Returns:
      The latest checkpoint prefix after the repair, or None.

    Raises:
      ValueError: the state file cannot be parsed.
    """
    state = _read_state(directory)
    if state is None:
        return None
    recorded = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    own = _own_entries(directory, recorded)
    latest = os.path.basename(state.model_checkpoint_path)
    if latest not in own:
        latest = own[-1] if own else None
    text = open(os.path.join(directory, STATE_FILENAME)).read()
    foreign = [path for path in recorded if os.path.basename(path) not in own]
    if foreign:
        logging.warning("%s: ignoring %d checkpoint(s) it names outside this directory, e.g. %s",
                        os.path.join(directory, STATE_FILENAME), len(foreign), foreign[0])
    if latest is None:
        os.remove(os.path.join(directory, STATE_FILENAME))
        return None
    if foreign or any(os.path.isabs(path) for path in _raw_paths(text)):
        _write_state(directory, state, latest, own)
    return os.path.join(directory, latest)


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
