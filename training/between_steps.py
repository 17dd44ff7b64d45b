"""What the training loop does between its steps besides training: checkpoints and summaries.

slim.learning.train leaves both to the Supervisor's timer threads, which run while the loop trains:
- the checkpoint thread's first save, named model.ckpt-0, was seen holding `global_step` 1 and the
  weights and batch-norm statistics of a step in progress, so the "untrained" model evaluated from
  it was not the initial one;
- the summary thread ran the network on a batch of its own, taken from the input queue whenever its
  clock said, so training never saw that batch, seeded runs trained on different batches, and the
  loss TensorBoard showed was of no training step.
The trainer turns both off and the training step does the work instead, with the same flags.
"""
import os
import time

from absl import logging

CHECKPOINT_BASENAME = "model.ckpt"  # the Supervisor's: its final save and ours share the names


class Interval:
    """Fires when `interval_secs` have passed since it last fired, and at once the first time; 0 never fires."""

    def __init__(self, interval_secs, clock=time.monotonic):
        self._interval_secs = interval_secs
        self._clock = clock
        self._last = None

    def due(self):
        """Says whether it fires now (and if so, counts the interval from now)."""
        if not self._interval_secs:
            return False
        now = self._clock()
        if self._last is not None and now - self._last < self._interval_secs:
            return False
        self._last = now
        return True


class Checkpoints:
    """Saves a training run's variables between steps: before a fresh run's first step, then every interval.

    A fresh run (global step 0) first saves its initial weights as model.ckpt-0; a resumed run does not
    save its start again. With `interval_secs` 0 nothing is saved here, as upstream's
    `--save_interval_secs=0` saves only the final checkpoint (slim.learning.train writes that one).
    """

    def __init__(self, saver, train_dir, interval_secs, clock=time.monotonic):
        self._saver = saver
        self._save_path = os.path.join(train_dir, CHECKPOINT_BASENAME)
        self._interval = Interval(interval_secs, clock)

    def at_start(self, session, global_step, step):
        """Starts the interval before the run's first step, at global step `step`; saves it if it is 0."""
        if self._interval.due() and step == 0:
            self._save(session, global_step)

    def after_step(self, session, global_step):
        """Saves when `interval_secs` have passed since the last save (or the start)."""
        if self._interval.due():
            self._save(session, global_step)

    def _save(self, session, global_step):
        logging.info("Saving checkpoint to path %s", self._save_path)
        self._saver.save(session, self._save_path, global_step=global_step)


class Summaries:
    """Computes `summary_op` in a training step's own run: on the first step, every interval and the last one.

    `last_step` is `--max_number_of_steps` (None: no limit); the step that reaches it is summarised.
    """

    def __init__(self, summary_op, interval_secs, last_step=None, clock=time.monotonic):
        self.summary_op = summary_op
        self._interval = Interval(interval_secs, clock)
        self._last_step = last_step

    def due(self, step):
        """Says whether the step coming after global step `step` computes the summaries."""
        reaches_the_limit = self._last_step is not None and step + 1 >= self._last_step
        return self._interval.due() or reaches_the_limit
