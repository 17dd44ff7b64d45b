"""Training's grade regression head and --seed, and the grading eval fits for it, on real TFRecords and
a real Inception V3."""
import csv
import os

import numpy as np
import pytest

from datasets import dataset_factory, input_pipeline
from grading import eye_fusion, fitting, metrics
from inference import model_runner
from preprocessing import preprocessing_factory
from slim_compat import tf
from tests.model_helpers import run_script, split_predictions
from tests.test_eval_image_classifier import METRIC_LINE
from utils import run_settings
from tests.test_train_image_classifier import train_in_process

pytestmark = pytest.mark.slow  # trains and evaluates in subprocesses

IMAGE_SIZE = 128  # the smallest size at which Inception V3 keeps its auxiliary head


def regression_command(train_dir, dataset_dir, *extra):
    return [f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
            f"--dataset_dir={dataset_dir}", "--model_name=inception_v3", "--batch_size=2",
            f"--train_image_size={IMAGE_SIZE}", "--max_number_of_steps=1", "--regression_loss=smooth_l1",
            "--optimizer=adam", "--opt_epsilon=1e-8", "--learning_rate=0.01", "--seed=7",
            "--trainable_scopes=GradeRegression,InceptionV3/Logits", *extra]


@pytest.fixture(scope="module")
def seeded_runs(tmp_path_factory, tiny_diabetic_dir):
    """Two 1-step runs with the regression head and the same --seed; returns their train dirs."""
    train_dirs = [str(tmp_path_factory.mktemp(f"seeded{run}")) for run in range(2)]
    for train_dir in train_dirs:
        train_in_process(regression_command(train_dir, tiny_diabetic_dir))
    return train_dirs


def test_regression_head_trains_next_to_the_softmax(seeded_runs):
    trained = tf.train.load_checkpoint(os.path.join(seeded_runs[0], "model.ckpt-1"))
    assert trained.get_variable_to_shape_map()["GradeRegression/weights"] == [2048, 1]
    # Adam's first moment is (1 - beta1) x the step's gradient: non-zero where the losses reach.
    for name in ("GradeRegression/weights", "GradeRegression/biases", "InceptionV3/Logits/Conv2d_1c_1x1/weights"):
        assert np.abs(trained.get_tensor(f"{name}/Adam")).max() > 0, name


def test_same_seed_starts_from_the_same_weights(seeded_runs):
    # Layers outside --trainable_scopes keep their initial values: equal only if initialisation was seeded.
    first, second = (tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-1")) for train_dir in seeded_runs)
    names = [name for name in first.get_variable_to_shape_map()
             if name.startswith("InceptionV3/Conv2d") and name.endswith("weights")]
    assert len(names) == 5
    for name in names:
        np.testing.assert_array_equal(first.get_tensor(name), second.get_tensor(name), err_msg=name)


def seeded_training_filenames(dataset_dir, seed):
    """The image ids of six training batches read with `seed`."""
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "train", dataset_dir)
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("fundus", True), 32,
                                             4, is_training=True, num_readers=2, num_preprocessing_threads=4,
                                             seed=seed)
        with tf.Session() as session:
            return [list(session.run(batch["filenames"])) for _ in range(6)]


def test_seeded_input_pipeline_reads_the_same_examples_into_the_same_batches(tiny_diabetic_dir):
    first, second = (seeded_training_filenames(tiny_diabetic_dir, seed=5) for _ in range(2))
    assert first == second
    assert seeded_training_filenames(tiny_diabetic_dir, seed=6) != first


def test_evaluation_reads_the_regression_output_and_cuts_it_at_thresholds(seeded_runs, tiny_diabetic_dir):
    checkpoint = os.path.join(seeded_runs[0], "model.ckpt-1")
    config = model_runner.ModelConfig("inception_v3", num_classes=5, image_size=IMAGE_SIZE, regression=True,
                                      thresholds=(0.5, 1.5, 2.5, 3.5))
    predictions = split_predictions(tiny_diabetic_dir, checkpoint, "validation", config)
    reader = tf.train.load_checkpoint(checkpoint)
    # Not the softmax's expected grade: the head's own output, cut at the thresholds.
    expected = predictions.probabilities @ np.arange(5)
    assert not np.allclose(predictions.scores, expected)
    np.testing.assert_array_equal(predictions.grades, np.searchsorted([0.5, 1.5, 2.5, 3.5], predictions.scores,
                                                                      side="right"))
    assert reader.has_tensor("GradeRegression/biases")


def test_eval_fits_grading_that_predict_uses_for_both_eyes(seeded_runs, tiny_diabetic_dir, tmp_path):
    train_dir = seeded_runs[1]
    predictions_file = str(tmp_path / "predictions.csv")
    evaluation = run_script("eval_image_classifier.py", f"--checkpoint_path={train_dir}",
                            "--dataset_split_name=validation", f"--dataset_dir={tiny_diabetic_dir}",
                            "--batch_size=5", f"--eval_dir={tmp_path / 'eval'}", "--fit_grading",
                            f"--predictions_file={predictions_file}")
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    printed = {name: float(value) for name, value in METRIC_LINE.findall(evaluation.stdout)}
    record = run_settings.read(train_dir)[fitting.GRADING]
    assert len(record["thresholds"]) == 4 and len(record["eye_fusion"]["weights"]) == 3
    assert record["score"] == "regression"
    # The thresholds were fitted on this split's regression outputs: at least as good as rounding them.
    assert printed["QuadraticWeightedKappa_Thresholds"] >= printed["QuadraticWeightedKappa_Regression"] - 1e-9
    with open(predictions_file) as handle:
        rows = list(csv.DictReader(handle))
    labels, grades = ([int(row[column]) for row in rows] for column in ("label", "prediction"))
    matrix = metrics.confusion_matrix(labels, grades, 5)
    assert printed["QuadraticWeightedKappa_Thresholds"] == pytest.approx(metrics.quadratic_weighted_kappa(matrix),
                                                                         abs=1e-5)
    # The headline figures are those of the grades the model now gives (the fitted thresholds'),
    # the softmax argmax's are reported next to them.
    assert printed["QuadraticWeightedKappa"] == pytest.approx(printed["QuadraticWeightedKappa_Thresholds"])
    assert printed["Mean_Recall"] == pytest.approx(metrics.mean_recall(metrics.per_grade_recall(matrix)), abs=1e-5)
    assert {"QuadraticWeightedKappa_Softmax", "Mean_Recall_Softmax", "Mean_Recall_EyeFusion",
            "QuadraticWeightedKappa_Thresholds_CrossFitted", "Mean_Recall_EyeFusion_CrossFitted"} <= set(printed)

    submission_file = str(tmp_path / "submission.csv")
    prediction = run_script("predict_image_classifier.py", f"--checkpoint_path={train_dir}",
                            "--dataset_split_name=validation", f"--dataset_dir={tiny_diabetic_dir}",
                            "--batch_size=5", f"--submission_file={submission_file}", "--combine_eyes")
    assert prediction.returncode == 0, prediction.stderr[-3000:]
    with open(submission_file) as handle:
        submitted = {row["image"]: int(row["level"]) for row in csv.DictReader(handle)}
    config = model_runner.ModelConfig("inception_v3", num_classes=5, image_size=IMAGE_SIZE, regression=True)
    predictions = split_predictions(tiny_diabetic_dir, tf.train.latest_checkpoint(train_dir), "validation", config)
    fused = eye_fusion.fused_grades(predictions.scores, predictions.filenames, record["eye_fusion"])
    assert submitted == dict(zip(predictions.filenames, fused.tolist()))
