"""eval_image_classifier.py on real TFRecords and real Inception V3 checkpoints."""
import csv
import glob
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from datasets import dataset_factory, download_and_convert_flowers
from evaluation import evaluate
from grading import metrics
from inference import model_runner
from slim_compat import tf
from tests import upstream_archives
from tests.conftest import TINY_SPLITS
from tests.model_helpers import (REPO_ROOT, TEST_IMAGE_SIZE, TEST_MODEL, run_script, save_random_checkpoints,
                                 shared_train_dir)
from utils import checkpoint_files

pytestmark = pytest.mark.slow  # runs eval and predict on Inception V3 checkpoints

METRIC_LINE = re.compile(r"^eval/(\w+)\[(.+)\]$", re.MULTILINE)


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    return shared_train_dir(tmp_path_factory)


def eval_flags(dataset_dir, checkpoint_path, eval_dir, *extra):
    # The book's command line, plus a small image size and batch for a quick CPU run.
    return ["--alsologtostderr", f"--checkpoint_path={checkpoint_path}", "--dataset_name=diabetic",
            "--dataset_split_name=validation", f"--dataset_dir={dataset_dir}", f"--model_name={TEST_MODEL}",
            f"--eval_image_size={TEST_IMAGE_SIZE}", "--batch_size=4", f"--eval_dir={eval_dir}", *extra]


def read_events(eval_dir):
    """Returns {(tag, step): Summary.Value} from every event file in `eval_dir`."""
    values = {}
    for path in glob.glob(os.path.join(eval_dir, "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                values[(value.tag, event.step)] = value
    return values


def evaluate_in_process(dataset_dir, checkpoint, eval_dir, batch_size, moving_average_decay=None):
    dataset = dataset_factory.get_dataset("diabetic", "validation", dataset_dir)
    config = model_runner.ModelConfig(TEST_MODEL, num_classes=5, image_size=TEST_IMAGE_SIZE,
                                      moving_average_decay=moving_average_decay)
    predictions_file = os.path.join(eval_dir, "predictions.csv")
    [values] = evaluate.evaluate(checkpoint, evaluate.dataset_input(dataset, 5, batch_size), config, eval_dir,
                                 predictions_file=predictions_file)
    with open(predictions_file) as handle:
        return values, list(csv.DictReader(handle))


def test_book_command_prints_metrics_that_agree_with_the_predictions_csv(tiny_diabetic_dir, train_dir, tmp_path):
    predictions_file = str(tmp_path / "predictions.csv")
    checkpoint = os.path.join(train_dir, "model.ckpt-2")
    result = run_script("eval_image_classifier.py", *eval_flags(
        tiny_diabetic_dir, checkpoint, str(tmp_path), f"--predictions_file={predictions_file}"))
    assert result.returncode == 0, result.stderr[-3000:]
    printed = {name: float(value) for name, value in METRIC_LINE.findall(result.stdout)}
    with open(predictions_file) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["image", "label", "prediction"] + [f"prob_{g}" for g in range(5)]
    labels = np.array([int(row["label"]) for row in rows])
    grades = np.array([int(row["prediction"]) for row in rows])
    probabilities = np.array([[float(row[f"prob_{g}"]) for g in range(5)] for row in rows])
    np.testing.assert_array_equal(grades, probabilities.argmax(axis=1))
    assert printed["Accuracy"] == pytest.approx(np.mean(labels == grades), abs=1e-5)
    matrix = metrics.confusion_matrix(labels, grades, 5)
    assert printed["QuadraticWeightedKappa"] == pytest.approx(metrics.quadratic_weighted_kappa(matrix), abs=1e-5,
                                                              nan_ok=True)
    assert printed["Referable_AUC"] == pytest.approx(
        metrics.roc_auc(labels >= 2, probabilities[:, 2:].sum(axis=1)), abs=1e-4)
    for grade in range(5):
        assert printed[f"Recall_{grade}"] == pytest.approx(np.mean(grades[labels == grade] == grade), abs=1e-5)
    assert "Recall_5" not in printed
    assert "rows: true grade, columns: predicted grade" in result.stdout
    assert (tmp_path / "referable_roc.png").exists()
    # The confusion matrix is printed as a table of the same counts.
    table_rows = re.findall(r"^([0-4])((?:\s+\d+){5})$", result.stdout, re.MULTILINE)
    np.testing.assert_array_equal(np.array([row.split() for _, row in table_rows], dtype=int), matrix)


def test_summaries_and_confusion_png_land_in_eval_dir_at_the_checkpoint_step(tiny_diabetic_dir, train_dir,
                                                                             tmp_path):
    values, _ = evaluate_in_process(tiny_diabetic_dir, os.path.join(train_dir, "model.ckpt-2"), str(tmp_path), 4)
    events = read_events(str(tmp_path))
    assert events[("eval/Accuracy", 2)].simple_value == pytest.approx(values["Accuracy"])
    assert events[("eval/QuadraticWeightedKappa", 2)].simple_value == pytest.approx(
        values["QuadraticWeightedKappa"], nan_ok=True)
    image = events[("eval/ConfusionMatrix", 2)].image
    with open(tmp_path / "confusion_matrix.png", "rb") as handle:
        assert handle.read() == image.encoded_image_string
    assert Image.open(tmp_path / "confusion_matrix.png").size == (image.width, image.height)


@pytest.mark.parametrize("batch_size", [3, 32])
def test_every_image_is_counted_exactly_once_whatever_the_batch_size(tiny_diabetic_dir, train_dir, tmp_path,
                                                                     batch_size):
    values, rows = evaluate_in_process(tiny_diabetic_dir, train_dir, str(tmp_path), batch_size)
    ids = [row["image"] for row in rows]
    assert len(ids) == TINY_SPLITS["validation"] and len(set(ids)) == len(ids)
    labels = [int(row["label"]) for row in rows]
    assert sorted(labels) == sorted(index % 5 for index in range(TINY_SPLITS["validation"]))


def test_moving_average_decay_restores_the_averaged_weights(tiny_diabetic_dir, tmp_path):
    # Shadows of the logits layer are zero, so only the averaged weights give uniform probabilities.
    [checkpoint] = save_random_checkpoints(str(tmp_path / "train"), [5], moving_average_decay=0.99,
                                           zero_shadow_of=lambda variable: "/Logits/" in variable.op.name)
    _, averaged = evaluate_in_process(tiny_diabetic_dir, checkpoint, str(tmp_path / "ema"), 4, 0.99)
    _, raw = evaluate_in_process(tiny_diabetic_dir, checkpoint, str(tmp_path / "raw"), 4)
    averaged_probabilities = np.array([[float(row[f"prob_{g}"]) for g in range(5)] for row in averaged])
    raw_probabilities = np.array([[float(row[f"prob_{g}"]) for g in range(5)] for row in raw])
    np.testing.assert_allclose(averaged_probabilities, 0.2, atol=1e-6)
    assert np.abs(raw_probabilities - 0.2).max() > 1e-3


def test_interval_mode_evaluates_checkpoints_written_after_it_started(tiny_diabetic_dir, train_dir, tmp_path):
    watched = tmp_path / "watched"  # the training directory does not exist yet when evaluation starts
    eval_dir = str(tmp_path / "eval")
    process = subprocess.Popen(
        [sys.executable, "eval_image_classifier.py", *eval_flags(
            tiny_diabetic_dir, str(watched), eval_dir, "--eval_interval_secs=1", "--max_evals=2", "--timeout=120")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for step in (1, 2):
            watched.mkdir(exist_ok=True)
            for path in glob.glob(os.path.join(train_dir, f"model.ckpt-{step}.*")):
                shutil.copy(path, watched)
            tf.train.update_checkpoint_state(str(watched), str(watched / f"model.ckpt-{step}"))
            deadline = time.monotonic() + 120
            while ("eval/Accuracy", step) not in (read_events(eval_dir) if os.path.isdir(eval_dir) else {}):
                assert process.poll() is None, process.stderr.read()[-3000:]
                assert time.monotonic() < deadline, "checkpoint was not evaluated"
                time.sleep(0.5)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert len(METRIC_LINE.findall(stdout)) == 2 * 21  # 16 grading metrics, 4 operating points, calibration


def test_unlabelled_split_is_refused(tiny_diabetic_dir, train_dir, tmp_path):
    dataset = dataset_factory.get_dataset("diabetic", "test", tiny_diabetic_dir)
    config = model_runner.ModelConfig(TEST_MODEL, num_classes=5, image_size=TEST_IMAGE_SIZE)
    with pytest.raises(ValueError, match="diabetic_test_.*the split is unlabelled; use predict_image_classifier.py"):
        evaluate.evaluate(train_dir, evaluate.dataset_input(dataset, 5, 4), config, str(tmp_path))


def test_checkpoint_path_may_be_a_directory_or_a_file(train_dir, tmp_path):
    assert checkpoint_files.resolve(train_dir) == os.path.join(train_dir, "model.ckpt-2")
    assert checkpoint_files.resolve(os.path.join(train_dir, "model.ckpt-1")).endswith("model.ckpt-1")
    assert checkpoint_files.step_of(os.path.join(train_dir, "model.ckpt-1")) == 1
    with pytest.raises(ValueError, match="no checkpoint in this directory"):
        checkpoint_files.resolve(str(tmp_path))
    with pytest.raises(ValueError, match="model.ckpt-9: not a checkpoint"):
        checkpoint_files.resolve(os.path.join(train_dir, "model.ckpt-9"))


@pytest.fixture(scope="module")
def tiny_flowers_dir(tmp_path_factory):
    """Upstream's flowers TFRecords converted from a tiny archive: 3 classes, 4 validation photos."""
    folder = str(tmp_path_factory.mktemp("flowers"))
    upstream_archives.write_flowers_archive(folder, photos_per_class=3)
    assert download_and_convert_flowers.run(folder, num_validation=4) == 0
    return folder


def test_flowers_eval_reports_classifier_metrics_and_no_diabetic_retinopathy_ones(tiny_flowers_dir, train_dir,
                                                                                  tmp_path):
    predictions_file = str(tmp_path / "predictions.csv")
    result = run_script("eval_image_classifier.py", f"--checkpoint_path={os.path.join(train_dir, 'model.ckpt-2')}",
                        "--dataset_name=flowers", "--dataset_split_name=validation",
                        f"--dataset_dir={tiny_flowers_dir}", f"--model_name={TEST_MODEL}",
                        f"--eval_image_size={TEST_IMAGE_SIZE}", "--batch_size=4", f"--eval_dir={tmp_path}",
                        f"--predictions_file={predictions_file}")
    assert result.returncode == 0, result.stderr[-3000:]
    printed = {name: float(value) for name, value in METRIC_LINE.findall(result.stdout)}
    assert list(printed) == (["Accuracy"] + [f"Recall_{c}" for c in range(5)] + ["Mean_Recall"]
                             + [f"Precision_{c}" for c in range(5)] + ["Expected_Calibration_Error"])
    with open(predictions_file) as handle:
        rows = list(csv.DictReader(handle))
    labels, predicted = (np.array([int(row[column]) for row in rows]) for column in ("label", "prediction"))
    assert len(rows) == 4
    assert printed["Accuracy"] == pytest.approx(np.mean(labels == predicted), abs=1e-5)
    recalls = [np.mean(predicted[labels == label] == label) for label in np.unique(labels)]
    assert printed["Mean_Recall"] == pytest.approx(np.mean(recalls), abs=1e-5)
    assert "rows: true class, columns: predicted class" in result.stdout and "daisy" in result.stdout
    events_files = {os.path.basename(path) for path in glob.glob(str(tmp_path / "events.out.tfevents.*"))}
    assert set(os.listdir(tmp_path)) == {"confusion_matrix.png", "predictions.csv", *events_files}  # no ROC
    tags = {tag for tag, _ in read_events(str(tmp_path))}
    assert "eval/Mean_Recall" in tags and "eval/ConfusionMatrix" in tags
    assert not [tag for tag in tags if "Kappa" in tag or "Referable" in tag]


@pytest.mark.parametrize("script, flag, output_flag", [
    ("eval_image_classifier.py", "--fit_grading", "--eval_dir"),
    ("predict_image_classifier.py", "--combine_eyes", "--submission_file"),
])
def test_grading_flags_on_a_dataset_without_dr_grades_are_a_one_line_error(tmp_path, script, flag, output_flag):
    result = run_script(script, f"--checkpoint_path={tmp_path}", "--dataset_name=flowers",
                        f"--dataset_dir={tmp_path}", flag, f"{output_flag}={tmp_path / 'out'}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"{script}: {flag} applies to diabetic-retinopathy grades only; "
        "--dataset_name=flowers has classes, not DR grades")
    assert os.listdir(tmp_path) == []
