"""Checkpoints written by the training loop itself, between two steps, so each holds the step it is named after.

slim.learning.train leaves periodic saving to the Supervisor's timer thread, which saves while the loop
trains: its first checkpoint, named model.ckpt-0, was seen holding `global_step` 1 and the weights and
batch-norm statistics of a step in progress, so the "untrained" model evaluated from it was not the
initial one. The trainer therefore turns the timer off and saves from the training step instead.
"""
import os
import time

from absl import logging

CHECKPOINT_BASENAME = "model.ckpt"  # the Supervisor's: its final save and ours share the names


class StepCheckpoints:
    """Saves a training run's variables between steps: before a fresh run's first step, then every interval.

    A fresh run (global step 0) first saves its initial weights as model.ckpt-0; a resumed run does not
    save its start again. With `interval_secs` 0 nothing is saved here, as upstream's
    `--save_interval_secs=0` saves only the final checkpoint (slim.learning.train writes that one).
    """

    def __init__(self, saver, train_dir, interval_secs, clock=time.monotonic):
        self._saver = saver
        self._save_path = os.path.join(train_dir, CHECKPOINT_BASENAME)
        self._interval_secs = interval_secs
        self._clock = clock
        self._last_save = None

    def before_step(self, session, global_step):
        """Saves the initial weights when called for the first time at global step 0."""
        if self._last_save is not None or not self._interval_secs:
            return
        self._last_save = self._clock()
        if session.run(global_step) == 0:
            self._save(session, global_step)

    def after_step(self, session, global_step):
        """Saves when `interval_secs` have passed since the last save (or the start)."""
        if self._interval_secs and self._clock() - self._last_save >= self._interval_secs:
            self._save(session, global_step)

    def _save(self, session, global_step):
        logging.info("Saving checkpoint to path %s", self._save_path)
        self._saver.save(session, self._save_path, global_step=global_step)
        self._last_save = self._clock()
