"""Following a training run: the new checkpoints it writes, as they appear."""
import itertools
import os

from slim_compat import tf


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
