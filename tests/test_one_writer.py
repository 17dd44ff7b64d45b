"""One writer per train dir and per eval dir: a second process gets one line naming the first."""
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from tests.model_helpers import REPO_ROOT, TEST_IMAGE_SIZE, run_script, shared_train_dir
from tests.test_checkpoint_faults import script_flags
from tests.test_one_line_errors import stopped_training
from tests.test_train_image_classifier import small_run, wait_for_log
from utils import writer_lock

pytestmark = pytest.mark.slow  # runs two script processes side by side

HOLD_LOCK = """import sys, time
from utils import writer_lock
with writer_lock.sole_writer(sys.argv[1], "train_dir"):
    print("held", flush=True)
    time.sleep(600)
"""


@contextlib.contextmanager
def held_by_another_process(folder):
    """Yields the process holding `folder`'s writer lock; kills it after the block."""
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "held\n"
        yield process
    finally:
        process.kill()
        process.wait()


def holder_pattern(pid):
    return (rf"in use by process {pid} on {re.escape(socket.gethostname())} \(-c, started \d{{4}}-\d\d-\d\d "
            rf"\d\d:\d\d:\d\d\); wait for it to finish, or write to another folder")


def test_a_second_trainer_on_a_train_dir_is_refused_and_writes_nothing(tiny_diabetic_dir, tmp_path):
    train_dir = tmp_path / "train"
    with held_by_another_process(train_dir) as holder:
        run = run_script("train_image_classifier.py", *small_run(train_dir, tiny_diabetic_dir, "--max_number_of_steps=1"))
        assert os.listdir(train_dir) == [writer_lock.LOCK_FILENAME]
    assert run.returncode == 1
    assert re.fullmatch(rf"train_image_classifier.py: --train_dir={re.escape(str(train_dir))}: "
                        + holder_pattern(holder.pid), run.stderr.strip().splitlines()[-1])


def test_a_second_eval_on_an_eval_dir_is_refused_and_writes_nothing(tiny_diabetic_dir, tmp_path_factory, tmp_path):
    eval_dir = tmp_path / "eval"
    with held_by_another_process(eval_dir) as holder:
        run = run_script("eval_image_classifier.py", f"--checkpoint_path={shared_train_dir(tmp_path_factory)}",
                         "--dataset_name=diabetic", "--dataset_split_name=validation",
                         f"--dataset_dir={tiny_diabetic_dir}", f"--eval_dir={eval_dir}",
                         f"--eval_image_size={TEST_IMAGE_SIZE}")
        assert os.listdir(eval_dir) == [writer_lock.LOCK_FILENAME]
    assert run.returncode == 1
    assert re.fullmatch(rf"eval_image_classifier.py: --eval_dir={re.escape(str(eval_dir))}: "
                        + holder_pattern(holder.pid), run.stderr.strip().splitlines()[-1])


def test_the_lock_of_a_killed_process_is_taken_over_saying_so(tmp_path, caplog):
    with held_by_another_process(tmp_path) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with caplog.at_level(logging.WARNING, logger="absl"):
        with writer_lock.sole_writer(str(tmp_path), "train_dir"):
            assert str(os.getpid()) in (tmp_path / writer_lock.LOCK_FILENAME).read_text()
    assert re.search(rf"{re.escape(str(tmp_path))}: taking over the lock of process {holder.pid} on .+, which is "
                     "no longer running", caplog.text)
    caplog.clear()
    assert not (tmp_path / writer_lock.LOCK_FILENAME).exists()
    with caplog.at_level(logging.WARNING, logger="absl"):
        with writer_lock.sole_writer(str(tmp_path), "train_dir"):
            pass
    assert "taking over" not in caplog.text


def test_an_eval_dir_that_cannot_be_made_is_one_line_before_any_graph(tiny_diabetic_dir, tmp_path_factory, tmp_path):
    (tmp_path / "notes.txt").write_text("notes")
    eval_dir = tmp_path / "notes.txt" / "eval"
    run = run_script("eval_image_classifier.py", f"--checkpoint_path={shared_train_dir(tmp_path_factory)}",
                     "--dataset_name=diabetic", "--dataset_split_name=validation", f"--dataset_dir={tiny_diabetic_dir}",
                     f"--eval_dir={eval_dir}", f"--eval_image_size={TEST_IMAGE_SIZE}")
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"eval_image_classifier.py: --eval_dir={eval_dir}: cannot write there (Not a directory)")
    assert "Traceback" not in run.stderr


def test_a_train_dir_on_a_read_only_file_system_is_one_line(tiny_diabetic_dir):
    message = stopped_training(*small_run("/sys/retina_train", tiny_diabetic_dir))
    assert re.fullmatch(r"train_image_classifier.py: --train_dir=/sys/retina_train: cannot write there \(.+\)",
                        message)


@pytest.mark.parametrize("script, flag", [("eval_image_classifier.py", "predictions_file"),
                                          ("predict_image_classifier.py", "submission_file"),
                                          ("export_inference_graph.py", "saved_model_dir")])
def test_an_output_inside_a_file_is_one_line_before_any_graph(script, flag, tiny_diabetic_dir, tmp_path_factory,
                                                              tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("notes")
    output = notes / "out"
    run = run_script(script, *script_flags(script, shared_train_dir(tmp_path_factory), tiny_diabetic_dir, tmp_path),
                     f"--{flag}={output}")
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"{script}: --{flag}={output}: {notes} is a file, not a directory; give a directory")
    assert notes.read_text() == "notes"


def test_ctrl_c_stops_training_in_one_line_naming_the_checkpoint_to_resume_from(tiny_diabetic_dir, tmp_path):
    train_dir = tmp_path / "train"
    log_path = tmp_path / "train.log"
    flags = small_run(train_dir, tiny_diabetic_dir, "--max_number_of_steps=100000", "--save_interval_secs=600")
    with open(log_path, "w") as log:
        # Ctrl-C's default action, even where the test runner was started with SIGINT ignored.
        process = subprocess.Popen([sys.executable, "train_image_classifier.py", *flags], cwd=REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, text=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_log(process, log_path, "global step 2:", timeout=240)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
    finally:
        process.kill()
    output = log_path.read_text()
    assert "Traceback" not in output
    assert re.fullmatch(rf"train_image_classifier.py: interrupted; the latest checkpoint is "
                        rf"{re.escape(str(train_dir))}/model.ckpt-\d+ \(step \d+\); run the same command to resume",
                        output.strip().splitlines()[-1])
    assert not (train_dir / writer_lock.LOCK_FILENAME).exists()
