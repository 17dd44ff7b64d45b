"""The CPU demo's shortened run that tests/test_end_to_end.py checks, started as soon as the tests are collected.

scripts/finetune_inception_v3_on_diabetic.sh keeps about one core of two busy for minutes (imports, graph
building, small steps), so conftest.py starts it in the background when a test of that file is to run, the
tests before it run beside it, and the `demo_run` fixture waits for it to end.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "finetune_inception_v3_on_diabetic.sh")
SHORT_DEMO = {"NUM_PATIENTS": "60", "VALIDATION_SIZE": "40", "TRAIN_STEPS": "150", "IMAGE_SIZE": "128",
              "BATCH_SIZE": "16"}
TIMEOUT_SECS = 900
_STARTED = pytest.StashKey()


def start(config):
    """Starts the shortened demo in a scratch folder that `stop` removes."""
    folder = tempfile.mkdtemp(prefix="demo_run_")
    output_dir = pathlib.Path(folder) / "demo"
    logs = [open(os.path.join(folder, name), "w+") for name in ("stdout.txt", "stderr.txt")]
    env = dict(os.environ, OUTPUT_DIR=str(output_dir), **SHORT_DEMO)
    process = subprocess.Popen(["bash", SCRIPT], cwd=REPO, env=env, stdout=logs[0], stderr=logs[1],
                               start_new_session=True)
    config.stash[_STARTED] = (folder, output_dir, process, logs, time.monotonic() + TIMEOUT_SECS)


def _end(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop(config):
    """Ends the demo if it still runs and removes its folder."""
    started = config.stash.get(_STARTED, None)
    if started is not None:
        folder, _, process, logs, _ = started
        _end(process)
        for log in logs:
            log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_run(request):
    """Waits for the shortened demo; returns (output folder, everything it printed)."""
    _, output_dir, process, logs, deadline = request.config.stash[_STARTED]
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        _end(process)
    printed = []
    for log in logs:
        log.seek(0)
        printed.append(log.read())
    assert process.returncode == 0, printed[0][-3000:] + printed[1][-3000:]
    return output_dir, "".join(printed)
