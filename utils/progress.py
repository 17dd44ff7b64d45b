"""Progress lines (count, rate, ETA) for long passes: images of a split, files of a folder."""
import time

from absl import logging


class ProgressLog:
    """Logs `done/total` with images per second and time left, at most every `every_secs` seconds."""

    def __init__(self, total, what="images", every_secs=10.0, clock=time.monotonic):
        self._total = total
        self._what = what
        self._every_secs = every_secs
        self._clock = clock
        self._start = clock()
        self._last_logged = self._start
        self.done = 0

    def update(self, count):
        """Adds `count` finished items and logs when `every_secs` have passed since the last line."""
        self.done += count
        now = self._clock()
        if now - self._last_logged >= self._every_secs:
            self._last_logged = now
            logging.info(self.line())

    def line(self):
        """Returns e.g. `120/5126 images, 40.0 images/s, ETA 2m05s`."""
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.done}/{self._total or '?'} {self._what}, {rate:.1f} {self._what}/s"
        if self._total and rate > 0:
            minutes, seconds = divmod(int(round(max(self._total - self.done, 0) / rate)), 60)
            text += f", ETA {minutes}m{seconds:02d}s"
        return text
