"""utils.run_settings: what a training run records about its model, and how the other scripts use it."""
import csv
import glob
import json
import os

import numpy as np
import pytest

from inference import model_runner
from slim_compat import tf
from tests.model_helpers import run_script, split_predictions
from tests.trained_run import CONVERSION, TRAIN_SETTINGS, TRAIN_STEPS, train_flags
from utils import run_settings

pytestmark = pytest.mark.slow  # trains, evaluates and predicts in subprocesses


def test_record_merges_into_the_file_and_read_returns_it(tmp_path):
    directory = str(tmp_path / "train")
    assert run_settings.read(directory) == {}
    run_settings.record(directory, {"model_name": "inception_v3", "num_classes": 5})
    run_settings.record(directory, {"thresholds": [0.5, 1.5, 2.5, 3.5], "num_classes": 4})
    assert run_settings.read(directory) == {"model_name": "inception_v3", "num_classes": 4,
                                            "thresholds": [0.5, 1.5, 2.5, 3.5]}
    assert os.listdir(directory) == [run_settings.SETTINGS_FILE]  # no temporary file left


def test_for_checkpoint_reads_the_folder_of_a_checkpoint_file_or_the_folder_itself(tmp_path):
    run_settings.record(str(tmp_path), {"model_name": "resnet_v1_50"})
    assert run_settings.for_checkpoint(str(tmp_path / "model.ckpt-7"))["model_name"] == "resnet_v1_50"
    assert run_settings.for_checkpoint(str(tmp_path))["model_name"] == "resnet_v1_50"
    assert run_settings.for_checkpoint(str(tmp_path / "elsewhere" / "model.ckpt-7")) == {}


def test_unreadable_settings_file_is_a_one_line_error(tmp_path):
    (tmp_path / run_settings.SETTINGS_FILE).write_text("[1, 2")
    with pytest.raises(ValueError, match=r"run_settings.json: unreadable settings file") as error:
        run_settings.read(str(tmp_path))
    assert "\n" not in str(error.value)


def test_check_unchanged_names_the_key_and_both_values():
    recorded = {"model_name": "inception_v3", "train_image_size": 128, "label_names": ["a"]}
    run_settings.check_unchanged(recorded, {"model_name": "inception_v3", "label_names": ["b"]}, "T")
    with pytest.raises(ValueError, match=r"^T: train_image_size was 128 when this training run started, "
                                         r"now 299; train into a new --train_dir"):
        run_settings.check_unchanged(recorded, {"model_name": "inception_v3", "train_image_size": 299}, "T")


def test_training_records_its_effective_settings_and_a_text_summary(trained_run):
    train_dir, _, _ = trained_run
    settings = run_settings.read(train_dir)
    assert {key: settings[key] for key in TRAIN_SETTINGS} == TRAIN_SETTINGS
    assert settings["dataset_name"] == "diabetic" and settings["num_classes"] == 5
    assert settings["labels_offset"] == 0 and settings["freeze_batch_norm"] is False
    assert settings["moving_average_decay"] is None
    assert settings["label_names"] == ["0", "1", "2", "3", "4"]
    conversion = settings[run_settings.CONVERSION]
    assert {key: conversion[key] for key in CONVERSION} == CONVERSION
    texts = [value.tensor.string_val[0].decode()
             for path in glob.glob(os.path.join(train_dir, "events.out.tfevents.*"))
             for event in tf.train.summary_iterator(path) for value in event.summary.value
             if value.tag.startswith("run_settings")]
    assert texts and '| preprocessing_name | "fundus" |' in texts[-1]


def test_restart_with_another_model_setting_is_refused_in_one_line(trained_run, tmp_path):
    train_dir, dataset_dir, _ = trained_run
    before = open(run_settings.settings_path(train_dir)).read()
    run = run_script("train_image_classifier.py",
                     *train_flags(train_dir, dataset_dir, "--preprocessing_name=inception_v3",
                                  f"--max_number_of_steps={TRAIN_STEPS + 1}"))
    assert run.returncode == 1
    last_line = run.stderr.strip().splitlines()[-1]
    assert last_line.startswith("train_image_classifier.py: ")
    assert "preprocessing_name was 'fundus' when this training run started, now 'inception_v3'" in last_line
    assert open(run_settings.settings_path(train_dir)).read() == before
    assert json.loads(before)["preprocessing_name"] == "fundus"


def read_probabilities(predictions_csv):
    """{image: [prob_0..prob_4]} of a --predictions_file."""
    with open(predictions_csv) as handle:
        rows = list(csv.DictReader(handle))
    return {row["image"]: [float(row[f"prob_{grade}"]) for grade in range(5)] for row in rows}


def test_eval_takes_the_run_settings_as_defaults(trained_run, tmp_path):
    train_dir, dataset_dir, _ = trained_run
    predictions_csv = tmp_path / "predictions.csv"
    run = run_script("eval_image_classifier.py", f"--checkpoint_path={train_dir}", f"--dataset_dir={dataset_dir}",
                     "--dataset_split_name=validation", f"--eval_dir={tmp_path}", "--batch_size=5",
                     f"--predictions_file={predictions_csv}")
    assert run.returncode == 0, run.stderr[-3000:]
    config = model_runner.ModelConfig("inception_v3", 5, preprocessing_name="fundus", image_size=128)
    expected = split_predictions(dataset_dir, tf.train.latest_checkpoint(train_dir), "validation", config)
    got = read_probabilities(predictions_csv)
    assert sorted(got) == sorted(expected.filenames)
    np.testing.assert_allclose([got[name] for name in expected.filenames], expected.probabilities, atol=1e-5)


@pytest.mark.parametrize("script, flag, message", [
    ("eval_image_classifier.py", "--preprocessing_name=inception_v3",
     "--preprocessing_name=inception_v3 contradicts the checkpoint's training run (preprocessing_name=fundus in "),
    ("predict_image_classifier.py", "--eval_image_size=299",
     "--eval_image_size=299 contradicts the checkpoint's training run (train_image_size=128 in "),
])
def test_a_flag_contradicting_the_run_settings_is_a_one_line_error(trained_run, tmp_path, script, flag, message):
    train_dir, dataset_dir, _ = trained_run
    run = run_script(script, f"--checkpoint_path={train_dir}", f"--dataset_dir={dataset_dir}", flag,
                     f"--eval_dir={tmp_path}" if script.startswith("eval") else f"--submission_file={tmp_path}/s.csv")
    assert run.returncode == 1
    last_line = run.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"{script}: {message}")
    assert "--override_run_settings" in last_line
    assert os.listdir(tmp_path) == []


def test_override_flag_lets_an_explicit_flag_win(trained_run, tmp_path):
    train_dir, dataset_dir, _ = trained_run
    submission_csv = tmp_path / "submission.csv"
    run = run_script("predict_image_classifier.py", f"--checkpoint_path={train_dir}", f"--dataset_dir={dataset_dir}",
                     "--preprocessing_name=inception_v3", "--override_run_settings",
                     f"--submission_file={submission_csv}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "used anyway (--override_run_settings)" in run.stderr
    assert submission_csv.exists()
