"""The per-step function handed to slim.learning.train: logs throughput, stops on a NaN loss."""
import math
import time

from absl import logging


def make_train_step_fn(images_per_step):
    """Returns a `train_step_fn(session, train_op, global_step, train_step_kwargs)` for slim.learning.train.

    Every `log_every_n_steps` it logs the step, loss, seconds per step and
    images per second (`images_per_step` = batch size x clones).

    Raises (from the returned function):
      FloatingPointError: the loss is NaN or infinite; the run stops at that step.
    """

    def train_step_fn(session, train_op, global_step, train_step_kwargs):
        start = time.time()
        loss, step = session.run([train_op, global_step])
        seconds = time.time() - start
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at step {step}; training stopped "
                                     "(try a lower --learning_rate)")
        if session.run(train_step_kwargs["should_log"]):
            logging.info("global step %d: loss = %.4f (%.3f sec/step, %.1f images/s)",
                         step, loss, seconds, images_per_step / seconds)
        return loss, bool(session.run(train_step_kwargs["should_stop"]))

    return train_step_fn
