"""Script runs in the background: started now, collected later; and the long ones started at collection.

Such a run keeps about one core of two busy for minutes (imports, graph building, small steps), so conftest.py
starts it when a test that uses its fixture is to run, the tests before that one run beside it, and the fixture
waits for it with `wait`. RUNS names them: the shortened CPU demo of tests/test_end_to_end.py and every fenced
command of README and the docs pages (tests/test_readme_commands.py, run as `python -m`). `start` and `finish`
serve any run (tests.model_helpers.run_together starts several at once).
"""
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "finetune_inception_v3_on_diabetic.sh")
SHORT_DEMO = {"NUM_PATIENTS": "60", "VALIDATION_SIZE": "40", "TRAIN_STEPS": "150", "IMAGE_SIZE": "128",
              "BATCH_SIZE": "16"}
_STARTED = pytest.StashKey()


@dataclasses.dataclass
class Started:
    """A script run in its own process group, its stdout and stderr going to temporary files."""
    process: subprocess.Popen
    logs: tuple
    deadline: float


def start(arguments, environment=None, timeout=900):
    """Starts `arguments` from the repository root (with `environment`, else this one's), to end in `timeout` s."""
    logs = (tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+"))
    process = subprocess.Popen(arguments, cwd=REPO, env=environment, stdout=logs[0], stderr=logs[1],
                               start_new_session=True)
    return Started(process, logs, time.monotonic() + timeout)


def _end(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def finish(run):
    """Waits for `run` until its deadline (then ends it: subprocess.TimeoutExpired); returns its CompletedProcess
    with stdout and stderr as text."""
    try:
        run.process.wait(timeout=max(0.0, run.deadline - time.monotonic()))
    finally:
        _end(run.process)
    texts = []
    for log in run.logs:
        log.seek(0)
        texts.append(log.read())
        log.close()
    return subprocess.CompletedProcess(run.process.args, run.process.returncode, *texts)


def stop(run):
    """Ends `run` if it still runs, and drops its output."""
    _end(run.process)
    for log in run.logs:
        log.close()


def demo_command(folder):
    """The shortened demo, writing into FOLDER/demo."""
    return ["bash", SCRIPT], dict(os.environ, OUTPUT_DIR=os.path.join(folder, "demo"), **SHORT_DEMO)


def readme_command(folder):
    """Every documented command in page order, the results written into FOLDER (tests/test_readme_commands.py)."""
    return [sys.executable, "-m", "tests.test_readme_commands", folder], None


# {the fixture that waits for it: (run name, its command for a scratch folder, seconds it may take)}
RUNS = {"demo_run": ("demo", demo_command, 900), "readme_results": ("readme", readme_command, 1800)}


def start_for(session):
    """Starts the run of each fixture of RUNS that a test to run uses (none for --collect-only)."""
    if session.config.option.collectonly:
        return
    started = session.config.stash.setdefault(_STARTED, {})
    for fixture in sorted({name for item in session.items for name in getattr(item, "fixturenames", ())} & set(RUNS)):
        name, command, timeout = RUNS[fixture]
        folder = tempfile.mkdtemp(prefix=f"{name}_run_")
        started[name] = (folder, start(*command(folder), timeout=timeout))


def wait(config, name):
    """Waits for the run `name`; returns (its scratch folder, its CompletedProcess with stdout and stderr)."""
    folder, run = config.stash[_STARTED][name]
    return folder, finish(run)


def stop_all(config):
    """Ends the runs that still run and removes their folders."""
    for folder, run in config.stash.get(_STARTED, {}).values():
        stop(run)
        shutil.rmtree(folder, ignore_errors=True)
