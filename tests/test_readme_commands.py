"""Every fenced shell command of README.md and of the docs/*.md pages runs as written, on small generated data.

The convention, for whoever adds a command to README.md or a docs page:

- The pages are README.md, then the docs/*.md pages in the order README first links them (a page README does
  not link is not run, and tests/test_docs_pages.py fails on it).
- Commands are the lines of the ```bash (or sh, shell) blocks; a line ending in `\\` continues on the
  next; comment lines are skipped, and a trailing `# comment` is left to bash. Other fences (```text,
  ```python) are not run: a figure's command in docs/results.md is quoted in `backticks`, not fenced.
- README's first block (setup + demo; setup + tests) is not run here: tests/test_end_to_end.py runs the
  demo's steps on a smaller sample, and the second command is this suite itself. Long jobs (the demo and
  example scripts, the test suite, a bench that trains or times networks) are never fenced on any page: quote
  them in `backticks`, as docs/results.md does (tests/test_docs_pages.py checks it).
- A command runs once: a page may repeat one that README (or an earlier page) already showed, with the same
  words (spacing aside), and it is not run again.
- Every other command runs in page order, on what the earlier ones wrote, as a reader would run them:
  in a scratch folder that links the repository's top-level files and folders (so relative outputs such as
  graph.pb, export/1 or png/ stay out of the checkout), with the virtual environment's bin folder first on
  PATH (`python`, `tensorboard`, `saved_model_cli`).
- Placeholders, whole upper-case words, are replaced (PLACEHOLDERS below says with what):
  DIR, CKPT, TRAIN, N, EVAL_DIR, PHOTO, I; the cluster's `HOST:2222` addresses become free local ports.
  Any other path is relative to the scratch folder, which holds `study/` (DICOM files: IM0001.dcm ...,
  Modality CT, ImageComments `normal` or `nodule`, 6 each).
- A command must exit 0, except long-running ones, checked in a bounded way: a server (scripts/start_server.py,
  tensorboard; only these may end in `&`) must come up (print SERVER_READY's mark), and keeps running until its
  block has run; a training command without --max_number_of_steps must record its settings and write a
  checkpoint, and is then stopped.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from datasets import kaggle_sample
from tests import background_runs, doc_pages
from tests.checkpoints import save_inception_v3_checkpoint
from tests.dicom_samples import write_ct_slice
from utils import run_settings

pytestmark = pytest.mark.slow  # runs README's commands end to end

REPO_ROOT = doc_pages.REPO_ROOT
PLACEHOLDERS = {
    "DIR": "a Kaggle-layout folder: trainLabels.csv, train/ and test/ photographs of 400-600 px",
    "CKPT": "a folder with inception_v3.ckpt (ImageNet's variable names and shapes, random weights)",
    "TRAIN": "the training folder that the train command writes",
    "N": "the highest step of the checkpoints in TRAIN when the command runs",
    "EVAL_DIR": "an evaluation folder",
    "PHOTO": "one camera photograph of DIR/test",
    "I": "a worker's task index: a server started with `&` runs for each of its --worker_hosts, anything else as 0",
}
SERVER_READY = {"start_server.py": "serving at", "tensorboard": "http://"}
READY_TIMEOUT_SECS = 300
COMMAND_TIMEOUT_SECS = 300
RESULTS_FILE = "results.json"


def documented_blocks():
    """The blocks of every page to run, in order, each command only at its first appearance."""
    blocks, seen = [], set()
    for page in doc_pages.pages():
        page_blocks = doc_pages.fenced_blocks(doc_pages.read(page))
        for block in page_blocks[1:] if page == doc_pages.README else page_blocks:
            new = [command for command in block if " ".join(command.split()) not in seen]
            seen.update(" ".join(command.split()) for command in new)
            if new:
                blocks.append(new)
    return blocks


BLOCKS = documented_blocks()
COMMANDS = [command for block in BLOCKS for command in block]
README_COMMANDS = [command for block in doc_pages.fenced_blocks(doc_pages.read(doc_pages.README))[1:]
                   for command in block]


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def write_study(folder, count=12):
    """DICOM CT slices IM0001.dcm ... with ImageComments alternating 'normal' and 'nodule'."""
    rng = np.random.default_rng(0)
    for number in range(1, count + 1):
        pixels = (rng.normal(40, 20, (32, 32)) + 1024 + (number % 2) * 200).astype(np.int16)
        write_ct_slice(os.path.join(folder, f"IM{number:04d}.dcm"), pixels, RescaleSlope=1, RescaleIntercept=-1024,
                       WindowCenter=40, WindowWidth=400, ImageComments="nodule" if number % 2 else "normal")


def highest_step(train_dir):
    steps = [int(match.group(1)) for name in os.listdir(train_dir)
             if (match := re.fullmatch(r"model\.ckpt-(\d+)\.index", name))]
    return str(max(steps)) if steps else "N"


class World:
    """The scratch folder, the placeholders' values, and the processes still running."""

    def __init__(self, root):
        self.scratch = os.path.join(root, "scratch")
        os.makedirs(self.scratch)
        for name in os.listdir(REPO_ROOT):
            if not name.startswith("."):
                os.symlink(os.path.join(REPO_ROOT, name), os.path.join(self.scratch, name))
        dataset_dir = os.path.join(root, "kaggle")
        sample = kaggle_sample.write_kaggle_sample(dataset_dir, num_patients=6, image_width_range=(400, 600),
                                                   with_test=True)
        checkpoint_dir = os.path.join(root, "ckpt")
        save_inception_v3_checkpoint(checkpoint_dir)
        write_study(os.path.join(self.scratch, "study"))
        self.values = {"DIR": dataset_dir, "CKPT": checkpoint_dir, "TRAIN": os.path.join(root, "train"),
                       "EVAL_DIR": os.path.join(root, "eval"),
                       "PHOTO": os.path.join(dataset_dir, "test", sample["test"][0] + ".jpeg")}
        # The worker's own server, which docs/distributed.md addresses as localhost:2222, is w0's: I is 0.
        worker_port = free_port()
        ports = {"localhost:2222": worker_port, "ps0:2222": free_port(), "w0:2222": worker_port,
                 "w1:2222": free_port()}
        self.hosts = {host: f"localhost:{port}" for host, port in ports.items()}
        self.env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                    "PYTHONUNBUFFERED": "1"}
        self.running = []
        self.logs = 0

    def substitute(self, command, worker=0):
        """Returns `command` with the placeholders and cluster addresses replaced, I by `worker`."""
        for host, local in self.hosts.items():
            command = command.replace(host, local)
        values = dict(self.values, I=str(worker),
                      N=highest_step(self.values["TRAIN"]) if os.path.isdir(self.values["TRAIN"]) else "N")
        return re.sub(r"\b(" + "|".join(values) + r")\b", lambda match: values[match.group(1)], command)

    def start(self, command):
        """Starts `command` under bash in its own process group; returns (process, log path)."""
        self.logs += 1
        log_path = os.path.join(self.scratch, f"command_{self.logs}.log")
        with open(log_path, "w") as log:
            process = subprocess.Popen(["bash", "-c", command], cwd=self.scratch, env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        return process, log_path

    def stop(self, process):
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self):
        while self.running:
            self.stop(self.running.pop())


def read_log(log_path):
    with open(log_path, errors="replace") as handle:
        return handle.read()


def new_checkpoint(train_dir, since):
    """Whether `train_dir` has settings and a checkpoint written after `since`."""
    if not os.path.exists(run_settings.settings_path(train_dir)):
        return False
    return any(name.endswith(".index") and os.path.getmtime(os.path.join(train_dir, name)) >= since
               for name in os.listdir(train_dir))


def wait_until(process, ready, background=False):
    """Waits for `ready()`; returns None when it held, else why not (the process ended or time ran out).

    With `background`, `process` is the shell that started the command with `&` and has ended.
    """
    deadline = time.time() + READY_TIMEOUT_SECS
    while time.time() < deadline:
        if ready():
            return None
        if not background and process.poll() is not None:
            return f"ended with exit status {process.returncode} before it was ready"
        time.sleep(1)
    return f"not ready after {READY_TIMEOUT_SECS} s"


def workers(command):
    """The worker indices to run `command` for: each of --worker_hosts for a server started with `&`, else 0."""
    hosts = re.search(r"--worker_hosts[= ](\S+)", command)
    if command.endswith("&") and "=I" in command and hosts:
        return range(len(hosts.group(1).split(",")))
    return [0]


def run_command(world, command):
    """Runs one substituted documented command as the module docstring says; returns None or the failure."""
    server = next((mark for name, mark in SERVER_READY.items() if name in command), None)
    if command.endswith("&") and server is None:
        return "a command started with & must be a server of SERVER_READY (bounded check)"
    process, log_path = world.start(command)
    train_dir = re.search(r"--train_dir[= ](\S+)", command)
    if server:
        failure = wait_until(process, lambda: server in read_log(log_path), background=command.endswith("&"))
        world.running.append(process)
    elif "train_image_classifier.py" in command and "--max_number_of_steps" not in command and train_dir:
        folder = os.path.join(world.scratch, train_dir.group(1))
        started = time.time() - 1
        failure = wait_until(process, lambda: os.path.isdir(folder) and new_checkpoint(folder, started))
        world.stop(process)
    else:
        try:
            process.wait(timeout=COMMAND_TIMEOUT_SECS)
            failure = None if process.returncode == 0 else f"exit status {process.returncode}"
        except subprocess.TimeoutExpired:
            world.stop(process)
            failure = f"still running after {COMMAND_TIMEOUT_SECS} s"
    return None if failure is None else f"{failure}:\n{read_log(log_path)[-3000:]}"


def run_every_block(root):
    """Runs every block in order in a World under `root`; writes {documented command: None or why it failed}
    to root/RESULTS_FILE."""
    world = World(root)
    results = {}
    try:
        for block in BLOCKS:
            for command in block:
                start = time.time()
                failures = [run_command(world, world.substitute(command, worker)) for worker in workers(command)]
                results[command] = next((failure for failure in failures if failure), None)
                print(f"{time.time() - start:6.1f} s  {command[:100]}")
            world.stop_all()
    finally:
        world.stop_all()
    with open(os.path.join(root, RESULTS_FILE), "w") as handle:
        json.dump(results, handle)


@pytest.fixture(scope="module")
def readme_results(request):
    """{documented command: None or why it failed}, from `run_every_block`, which conftest.py started in the
    background (tests/background_runs.py)."""
    root, run = background_runs.wait(request.config, "readme")
    print(run.stdout, end="")  # each command's time
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(os.path.join(root, RESULTS_FILE)) as handle:
        return json.load(handle)


def test_readme_has_one_command_per_job_and_the_pages_the_rest():
    readme = " ".join(README_COMMANDS)
    for script in ("download_and_convert_data.py", "train_image_classifier.py", "eval_image_classifier.py",
                   "predict_image_classifier.py", "export_inference_graph.py", "tensorboard", "dicom_to_png.py"):
        assert script in readme
    documented = " ".join(COMMANDS)
    for script in ("saved_model_cli", "scripts/start_server.py", "--tflite", "bench/bench_real_photos.py"):
        assert script in documented
    assert not [command for command in COMMANDS if "..." in command or "[--" in command]


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{index:02d}" for index in range(len(COMMANDS))])
def test_readme_command_runs_as_written(readme_results, command):
    failure = readme_results[command]
    assert failure is None, f"{command}\n{failure}"


if __name__ == "__main__":  # python -m tests.test_readme_commands ROOT: how tests/background_runs.py starts it
    run_every_block(sys.argv[1])
