"""Progress lines: count, rate and time left, logged at most every `every_secs`."""
from absl import logging

from utils.progress import ProgressLog


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_line_gives_count_rate_and_eta():
    clock = FakeClock()
    log = ProgressLog(500, clock=clock)
    clock.now = 10.0
    log.update(100)
    assert log.line() == "100/500 images, 10.0 images/s, ETA 0m40s"


def test_unknown_total_gives_no_eta():
    clock = FakeClock()
    log = ProgressLog(None, what="files", clock=clock)
    clock.now = 4.0
    log.update(8)
    assert log.line() == "8/? files, 2.0 files/s"


def test_update_logs_only_after_every_secs(monkeypatch):
    lines = []
    monkeypatch.setattr(logging, "info", lines.append)
    clock = FakeClock()
    log = ProgressLog(10, every_secs=5.0, clock=clock)
    clock.now = 1.0
    log.update(1)
    clock.now = 6.0
    log.update(1)
    clock.now = 7.0
    log.update(1)
    assert lines == ["2/10 images, 0.3 images/s, ETA 0m24s"]
