"""Damaged and missing checkpoints: one line naming the file, in the same words in every script."""
import glob
import logging
import os
import shutil

import pytest

from tests.model_helpers import TEST_IMAGE_SIZE, run_script, shared_train_dir
from tests.test_one_line_errors import stopped_training
from tests.test_train_image_classifier import small_run, train_in_process
from tests.trained_run import train_flags
from training import trainer
from utils import checkpoint_files

pytestmark = pytest.mark.slow  # runs the scripts on damaged copies of a trained run

SCRIPTS_READING_A_CHECKPOINT = ("eval_image_classifier.py", "predict_image_classifier.py", "export_inference_graph.py")


@pytest.fixture
def train_copy(tmp_path_factory, tmp_path):
    """A copy of a folder holding model.ckpt-1 and model.ckpt-2 (the latest)."""
    copy = tmp_path / "train"
    shutil.copytree(shared_train_dir(tmp_path_factory), copy)
    return copy


def script_flags(script, checkpoint_path, dataset_dir, out):
    """Flags that make `script` read `checkpoint_path` and write under `out`."""
    common = [f"--checkpoint_path={checkpoint_path}", "--dataset_name=diabetic", f"--dataset_dir={dataset_dir}"]
    return {
        "eval_image_classifier.py": [*common, "--dataset_split_name=validation", f"--eval_dir={out}",
                                     f"--eval_image_size={TEST_IMAGE_SIZE}"],
        "predict_image_classifier.py": [*common, f"--submission_file={out}/submission.csv",
                                        f"--eval_image_size={TEST_IMAGE_SIZE}"],
        "export_inference_graph.py": [*common, f"--saved_model_dir={out}/export", f"--image_size={TEST_IMAGE_SIZE}"],
    }[script]


def truncate_half(path):
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)


DAMAGES = {
    "short data file": (lambda prefix: truncate_half(prefix + ".data-00000-of-00001"),
                        "model.ckpt-2.data-00000-of-00001 is shorter than its index says"),
    "garbled index": (lambda prefix: open(prefix + ".index", "wb").write(b"x" * 100),
                      "its index cannot be read: not an sstable (bad magic number)"),
    "data file gone": (lambda prefix: os.remove(prefix + ".data-00000-of-00001"),
                       "model.ckpt-2.data-00000-of-00001 is missing"),
}


def damaged_line(prefix, what):
    return (f"{prefix}: damaged checkpoint ({what}); restore its files from where they came, or delete them to use "
            "an earlier checkpoint")


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_checkpoint_stops_training_in_one_line_and_is_left_as_it_was(train_copy, tiny_diabetic_dir, damage):
    make_damage, what = DAMAGES[damage]
    prefix = str(train_copy / "model.ckpt-2")
    make_damage(prefix)
    before = sorted(os.listdir(train_copy))
    assert stopped_training(*small_run(train_copy, tiny_diabetic_dir)) == (
        f"train_image_classifier.py: {damaged_line(prefix, what)}")
    assert sorted(os.listdir(train_copy)) == before


def test_a_damaged_warm_start_checkpoint_is_named_before_training(train_copy, tiny_diabetic_dir, tmp_path):
    prefix = str(train_copy / "model.ckpt-1")
    truncate_half(prefix + ".data-00000-of-00001")
    message = stopped_training(*small_run(tmp_path / "new", tiny_diabetic_dir, f"--checkpoint_path={prefix}"))
    assert message == ("train_image_classifier.py: "
                       + damaged_line(prefix, "model.ckpt-1.data-00000-of-00001 is shorter than its index says"))
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("script", SCRIPTS_READING_A_CHECKPOINT)
def test_every_script_names_a_damaged_checkpoint_in_the_same_words(script, train_copy, tiny_diabetic_dir, tmp_path):
    prefix = str(train_copy / "model.ckpt-2")
    truncate_half(prefix + ".data-00000-of-00001")
    run = run_script(script, *script_flags(script, train_copy, tiny_diabetic_dir, tmp_path / "out"))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        f"{script}: " + damaged_line(prefix, "model.ckpt-2.data-00000-of-00001 is shorter than its index says"))
    assert "Traceback" not in run.stderr


def missing_line(train_dir, remains):
    return (f"{train_dir / 'checkpoint'}: its latest checkpoint model.ckpt-2 has no files in this directory "
            f"(deleted, or never copied here); {remains}")


def test_a_deleted_latest_checkpoint_is_named_alike_by_eval_and_training(train_copy, tiny_diabetic_dir, tmp_path,
                                                                          caplog):
    for path in glob.glob(str(train_copy / "model.ckpt-2.*")):
        os.remove(path)
    run = run_script("eval_image_classifier.py", *script_flags("eval_image_classifier.py", train_copy,
                                                               tiny_diabetic_dir, tmp_path / "eval"))
    assert run.returncode == 0, run.stderr[-2000:]
    warning = missing_line(train_copy, "the latest that remains is model.ckpt-1")
    assert warning in run.stderr
    assert f"Evaluating {train_copy / 'model.ckpt-1'} (global step 1)" in run.stderr
    with caplog.at_level(logging.INFO, logger="absl"):
        assert trainer.prepare_train_dir(str(train_copy)) == str(train_copy / "model.ckpt-1")
    assert warning in caplog.text
    assert 'model_checkpoint_path: "model.ckpt-1"' in (train_copy / "checkpoint").read_text()


def test_eval_of_a_folder_whose_only_checkpoint_was_deleted_says_none_remains(train_copy, tiny_diabetic_dir, tmp_path):
    for path in glob.glob(str(train_copy / "model.ckpt-*")):
        os.remove(path)
    run = run_script("eval_image_classifier.py", *script_flags("eval_image_classifier.py", train_copy,
                                                               tiny_diabetic_dir, tmp_path / "eval"))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "eval_image_classifier.py: " + missing_line(train_copy, "no checkpoint remains"))


def test_training_resumes_from_the_checkpoint_that_remains_and_says_so(trained_run, tmp_path, caplog):
    train_dir, dataset_dir, _ = trained_run
    copy = tmp_path / "train"
    shutil.copytree(train_dir, copy)
    latest = checkpoint_files.latest_in(str(copy))
    remaining = [name[:-len(".index")] for name in sorted(os.listdir(copy))
                 if name.endswith(".index") and name[:-len(".index")] != os.path.basename(latest)]
    for path in glob.glob(latest + ".*"):
        os.remove(path)
    resumed = copy / remaining[-1]
    limit = checkpoint_files.step_of(str(resumed)) + 1
    with caplog.at_level(logging.INFO, logger="absl"):
        train_in_process(train_flags(copy, dataset_dir, f"--max_number_of_steps={limit}"))
    assert f"its latest checkpoint {os.path.basename(latest)} has no files in this directory" in caplog.text
    assert f"the latest that remains is {remaining[-1]}" in caplog.text
    assert f"Resuming from {resumed} (step {limit - 1})" in caplog.text
    assert checkpoint_files.latest_in(str(copy)) == str(copy / f"model.ckpt-{limit}")


def modification_times(folder):
    """{file name: modification time} of everything in `folder`."""
    return {name: os.path.getmtime(folder / name) for name in os.listdir(folder)}


def test_a_run_already_past_the_step_limit_changes_nothing_and_says_so(trained_run, tmp_path, caplog):
    train_dir, dataset_dir, _ = trained_run
    copy = tmp_path / "train"
    shutil.copytree(train_dir, copy)
    latest = checkpoint_files.latest_in(str(copy))
    step = checkpoint_files.step_of(latest)
    before = modification_times(copy)
    with caplog.at_level(logging.INFO, logger="absl"):
        train_in_process(train_flags(copy, dataset_dir, "--max_number_of_steps=1"))
    assert (f"{latest}: the run is already at step {step}, at or past --max_number_of_steps=1; nothing trained, "
            "nothing changed (raise --max_number_of_steps to train on)") in caplog.text
    assert modification_times(copy) == before
