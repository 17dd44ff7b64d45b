"""Keeps a training directory's `checkpoint` file pointing at its highest-step checkpoint.

The Supervisor behind slim.learning.train saves on a timer thread that fires
once as training starts. With a large model and a short run, that first save
(of step 0) can finish after the final save, and TensorFlow's Saver then
records it as the latest checkpoint: a restart or an evaluation of the
directory would silently use the older weights.
"""
import os
import re

from slim_compat import tf

STEP_SUFFIX = re.compile(r"-(\d+)$")


def point_latest_at_highest_step(train_dir):
    """Rewrites `train_dir`'s checkpoint state so the highest global step is the latest.

    Returns:
      The latest checkpoint prefix after the repair, or None when there is none.
    """
    state = tf.train.get_checkpoint_state(train_dir)
    if state is None:
        return None
    paths = [path for path in state.all_model_checkpoint_paths if STEP_SUFFIX.search(path)]
    if not paths:
        return state.model_checkpoint_path
    by_step = sorted(paths, key=lambda path: int(STEP_SUFFIX.search(path).group(1)))
    if by_step[-1] != state.model_checkpoint_path:
        tf.train.update_checkpoint_state(train_dir, by_step[-1], all_model_checkpoint_paths=by_step)
    return os.path.join(train_dir, os.path.basename(by_step[-1]))
