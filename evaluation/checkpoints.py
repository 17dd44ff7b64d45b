"""Finding the checkpoint to evaluate, its global step, and the new ones a training run writes."""
import itertools
import os
import re

from slim_compat import tf
from training import latest_checkpoint

GLOBAL_STEP_NAME = "global_step"


def resolve_checkpoint(checkpoint_path):
    """Returns the checkpoint prefix `checkpoint_path` names: itself, or a directory's latest.

    Raises:
      ValueError: the directory holds no checkpoint or the file is not one.
    """
    if tf.gfile.IsDirectory(checkpoint_path):
        latest = latest_checkpoint.latest_in(checkpoint_path)
        if latest is None:
            raise ValueError(f"{checkpoint_path}: no checkpoint in this directory")
        return latest
    try:
        tf.train.load_checkpoint(checkpoint_path)
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"{checkpoint_path}: not a checkpoint (expected a prefix such as model.ckpt-1000 "
                         f"or a directory holding one): {error.__class__.__name__}") from error
    return checkpoint_path


def checkpoint_global_step(checkpoint):
    """Returns the checkpoint's `global_step` variable, else the `-N` suffix of its name, else 0."""
    reader = tf.train.load_checkpoint(checkpoint)
    if reader.has_tensor(GLOBAL_STEP_NAME):
        return int(reader.get_tensor(GLOBAL_STEP_NAME))
    suffix = re.search(r"-(\d+)$", checkpoint)
    return int(suffix.group(1)) if suffix else 0


def follow_checkpoints(checkpoint_path, interval_secs, timeout=None, max_evals=None):
    """Returns an iterator over each new checkpoint a training run writes, as it appears.

    Args:
      checkpoint_path: the training directory (which may not exist yet), or a checkpoint file inside it.
      interval_secs: least number of seconds between two yielded checkpoints.
      timeout: stop after this many seconds without a new checkpoint (training has stopped);
        None waits forever.
      max_evals: stop after this many checkpoints; None never stops for that.

    Returns:
      An iterator of checkpoint prefixes, starting with the latest one present now.
    """
    names_a_checkpoint = tf.gfile.Exists(checkpoint_path + ".index")
    # A directory that does not exist yet is a training run that has not started: wait for it.
    directory = os.path.dirname(checkpoint_path) or "." if names_a_checkpoint else checkpoint_path
    checkpoints = tf.train.checkpoints_iterator(directory, min_interval_secs=interval_secs, timeout=timeout)
    return itertools.islice(checkpoints, max_evals)
