"""The per-step function handed to slim.learning.train: trains, logs, stops on a NaN loss, saves and summarises."""
import math
import time

from absl import logging


def make_train_step_fn(images_per_step, summaries=None, checkpoints=None):
    """Returns a `train_step_fn(session, train_op, global_step, train_step_kwargs)` for slim.learning.train.

    Every `log_every_n_steps` it logs the step, loss, seconds per step and
    images per second (`images_per_step` = batch size x clones).
    `summaries`, a between_steps.Summaries, has its summary op computed in the
    same run as the training step when due (the last step included) and
    written at that step through the Supervisor's summary writer (the chief's:
    workers write none). `checkpoints`, a between_steps.Checkpoints (the
    chief's), saves before the first step and between steps. None does neither.

    Raises (from the returned function):
      FloatingPointError: the loss is NaN or infinite; the run stops at that step.
    """

    step_before = None  # the global step before the coming step: read once, then the last step's

    def train_step_fn(session, train_op, global_step, train_step_kwargs):
        nonlocal step_before
        writer = train_step_kwargs.get("summary_writer")
        summarise = summaries is not None and writer is not None
        if step_before is None:
            step_before = session.run(global_step)
            if checkpoints:
                checkpoints.at_start(session, global_step, step_before)
        fetches = {"loss": train_op}
        if summarise and summaries.due(step_before):
            fetches["summary"] = summaries.summary_op
        start = time.time()
        ran = session.run(fetches)
        seconds = time.time() - start
        # Read once the step is over: fetched in train_op's run, a parameter
        # server's global step may predate the update (with --sync_replicas the
        # update even runs in the chief's own thread).
        after_fetches = {"step": global_step, "stop": train_step_kwargs["should_stop"]}
        if "should_log" in train_step_kwargs:  # absent when log_every_n_steps is 0
            after_fetches["log"] = train_step_kwargs["should_log"]
        after = session.run(after_fetches)
        step_before = after["step"]
        loss = ran["loss"]
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at step {after['step']}; training stopped "
                                     "(try a lower --learning_rate)")
        if after.get("log"):
            logging.info("global step %d: loss = %.4f (%.3f sec/step, %.1f images/s)",
                         after["step"], loss, seconds, images_per_step / seconds)
        if checkpoints and not after["stop"]:  # slim.learning.train saves the last step itself
            checkpoints.after_step(session, global_step)
        if summarise and after["stop"] and "summary" not in ran:  # a stop not foreseen (e.g. with sync replicas)
            ran["summary"] = session.run(summaries.summary_op)
        if "summary" in ran:
            writer.add_summary(ran["summary"], after["step"])
            if after["stop"]:
                writer.flush()
        return loss, bool(after["stop"])

    return train_step_fn
