"""The per-step function handed to slim.learning.train: logs throughput, stops on a NaN loss, saves between steps."""
import math
import time

from absl import logging


def make_train_step_fn(images_per_step, summary_op=None, checkpoints=None):
    """Returns a `train_step_fn(session, train_op, global_step, train_step_kwargs)` for slim.learning.train.

    Every `log_every_n_steps` it logs the step, loss, seconds per step and
    images per second (`images_per_step` = batch size x clones). After the
    last step it writes `summary_op` at that step through the Supervisor's
    summary writer (the chief's; its timer alone would miss the final step).
    `checkpoints`, a step_checkpoints.StepCheckpoints (the chief's), saves
    before the first step and between steps; None saves nothing here.

    Raises (from the returned function):
      FloatingPointError: the loss is NaN or infinite; the run stops at that step.
    """

    def train_step_fn(session, train_op, global_step, train_step_kwargs):
        if checkpoints:
            checkpoints.before_step(session, global_step)
        start = time.time()
        loss = session.run(train_op)
        seconds = time.time() - start
        # Read once the step is over: fetched in train_op's run, a parameter
        # server's global step may predate the update (with --sync_replicas the
        # update even runs in the chief's own thread).
        fetches = {"step": global_step, "stop": train_step_kwargs["should_stop"]}
        if "should_log" in train_step_kwargs:  # absent when log_every_n_steps is 0
            fetches["log"] = train_step_kwargs["should_log"]
        after = session.run(fetches)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at step {after['step']}; training stopped "
                                     "(try a lower --learning_rate)")
        if after.get("log"):
            logging.info("global step %d: loss = %.4f (%.3f sec/step, %.1f images/s)",
                         after["step"], loss, seconds, images_per_step / seconds)
        if checkpoints and not after["stop"]:  # slim.learning.train saves the last step itself
            checkpoints.after_step(session, global_step)
        writer = train_step_kwargs.get("summary_writer")
        if after["stop"] and summary_op is not None and writer is not None:
            writer.add_summary(session.run(summary_op), after["step"])
            writer.flush()
        return loss, bool(after["stop"])

    return train_step_fn
