"""The CPU demo end to end: embedded sample -> prepare -> train from scratch -> eval -> predict -> summary.

Runs scripts/finetune_inception_v3_on_diabetic.sh once, shortened (fewer patients and
steps than the demo), and checks that the model learned the grading task: its
validation QWK is well above the majority-class baseline's (0 by definition) and above
the untrained step-0 model's. The run starts in the background as soon as the tests are collected
(tests/background_runs.py).
"""
import json
import os
import pathlib

import pytest

from datasets import dataset_factory, input_pipeline
from reporting import baseline
from tests import background_runs
from tests.background_runs import SHORT_DEMO

pytestmark = pytest.mark.slow  # runs the CPU demo end to end

# Measured with these settings (the sample is seeded; network init and input order are not):
# trained QWK 0.84, 0.90 and 0.94 in three runs, the untrained step-0 model 0.0 (one grade for all; so in
# eight seeds of the initial model). When the step-0 checkpoint was saved during the first step, it once
# scored 0.79 and failed this test (training/between_steps.py);
# a 100-patient run with the same training settings scored 0.68 after only 86 steps. 0.5 leaves
# room for run-to-run spread on 40 validation images and is far beyond a model without skill.
MIN_TRAINED_QWK = 0.5


@pytest.fixture(scope="module")
def demo_run(request):
    """Waits for the shortened demo; returns (output folder, everything it printed)."""
    folder, result = background_runs.wait(request.config, "demo")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return pathlib.Path(folder) / "demo", result.stdout + result.stderr


def validation_rows(output_dir):
    tfrecords = os.path.join(output_dir, f"kaggle_sample_{SHORT_DEMO['NUM_PATIENTS']}", "tfrecords")
    train = dataset_factory.get_dataset("diabetic", "train", tfrecords)
    eval_dir = os.path.join(output_dir, "eval")
    return dict(baseline.summary_rows(input_pipeline.count_labels(train, train.num_classes), [
        ("untrained", os.path.join(eval_dir, "predictions_untrained.csv")),
        ("trained", os.path.join(eval_dir, "predictions.csv"))]))


def test_trained_model_beats_majority_baseline_and_untrained_model(demo_run):
    output_dir, _ = demo_run
    rows = validation_rows(output_dir)
    trained = rows["trained"]["QuadraticWeightedKappa"]
    assert rows[baseline.BASELINE_NAME]["QuadraticWeightedKappa"] == 0.0
    assert trained > MIN_TRAINED_QWK
    assert trained > rows["untrained"]["QuadraticWeightedKappa"] + MIN_TRAINED_QWK


def test_demo_prints_the_comparison_and_how_to_look_at_the_run(demo_run):
    output_dir, printed = demo_run
    for name in (baseline.BASELINE_NAME, "untrained model", "trained model"):
        assert any(line.startswith(name) for line in printed.splitlines()), name
    assert f"tensorboard --logdir {output_dir}" in printed


def test_demo_writes_pictures_submission_and_tensorboard_events(demo_run):
    output_dir, _ = demo_run
    for picture in ("sample_grid.png", os.path.join("eval", "confusion_matrix.png")):
        with open(os.path.join(output_dir, picture), "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n", picture
    with open(os.path.join(output_dir, "submission.csv")) as handle:
        rows = handle.read().split()
    assert rows[0] == "image,level" and len(rows) == 1 + 2 * (int(SHORT_DEMO["NUM_PATIENTS"]) // 4)
    for run in ("train", "eval"):
        assert any(name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(output_dir, run)))


def test_demo_writes_the_screening_trial_report_of_the_validation_split(demo_run):
    output_dir, printed = demo_run
    report_dir = os.path.join(output_dir, "eval", "report")
    with open(os.path.join(report_dir, "report.json")) as handle:
        report = json.load(handle)
    with open(os.path.join(report_dir, "report.html")) as handle:
        page = handle.read()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert report["photos"] == report["eye"]["units"] == int(SHORT_DEMO["VALIDATION_SIZE"])
    assert report["patient"]["units"] < report["eye"]["units"]
    assert os.path.join(report_dir, "report.html") in printed
