"""What TensorBoard shows: training's final step, eval's referable-DR PR curve and ROC picture, no NaN points."""
import glob
import io
import os

import numpy as np
import pytest
from PIL import Image

from grading import screening
from reporting import eval_summaries, referable_curves
from slim_compat import tf
from tests.trained_run import TRAIN_STEPS


def events(directory):
    """[(step, Summary.Value)] of every event file in `directory`."""
    return [(event.step, value) for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*")))
            for event in tf.train.summary_iterator(path) for value in event.summary.value]


@pytest.mark.slow
def test_training_writes_summaries_at_its_final_step(trained_run):
    train_dir, _, _ = trained_run
    # The run: TRAIN_STEPS steps with --save_summaries_secs=600, so only the final-step write reaches the last.
    steps = {step for step, value in events(train_dir) if value.tag == "total_loss"}
    assert TRAIN_STEPS in steps


def test_eval_writes_the_pr_curve_and_roc_picture_of_referable_dr(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 4, 2, 0])
    probabilities = rng.dirichlet(np.ones(5), size=labels.size)
    values = {"Referable_Sensitivity": 0.5, "Referable_Specificity": 0.75, "Referable_AUC": 0.6}
    writer = tf.summary.FileWriter(str(tmp_path))
    png_path = referable_curves.publish(labels, probabilities, values, str(tmp_path), writer, global_step=7)
    writer.close()
    written = {value.tag: (step, value) for step, value in events(str(tmp_path))}
    step, pr_curve = written[f"{referable_curves.PR_CURVE_TAG}/pr_curves"]
    assert step == 7 and pr_curve.metadata.plugin_data.plugin_name == "pr_curves"
    curve = tf.make_ndarray(pr_curve.tensor)
    assert curve.shape == (6, referable_curves.PR_THRESHOLDS) and np.isfinite(curve).all()
    true_positives = curve[0]
    assert true_positives[0] == 4  # every referable eye (grades 2, 3, 4, 2) scores >= threshold 0
    roc = Image.open(io.BytesIO(written[referable_curves.ROC_TAG][1].image.encoded_image_string)).convert("RGB")
    assert roc.size == Image.open(png_path).size
    # The operating point (1 - specificity, sensitivity) = (0.25, 0.5) is drawn in the point colour.
    x, y = referable_curves.roc_pixel(0.25, 0.5)
    assert roc.getpixel((int(x), int(y))) == referable_curves.POINT
    # So are the screening operating points, each where the ROC curve meets its constraint.
    points = screening.screening_operating_points(labels >= 2, probabilities[:, 2:].sum(axis=1))
    for name in referable_curves.SCREENING_LABELS:
        sensitivity, specificity, _ = points[name]
        x, y = referable_curves.roc_pixel(1 - specificity, sensitivity)
        assert roc.getpixel((int(x), int(y))) in (referable_curves.SCREENING, referable_curves.POINT), name


def test_roc_is_not_drawn_when_a_class_is_absent(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    probabilities = np.full((3, 5), 0.2)
    assert referable_curves.publish(np.zeros(3, int), probabilities, {}, str(tmp_path), writer, 1) is None
    writer.close()
    assert not os.path.exists(tmp_path / referable_curves.ROC_PNG)


def test_undefined_metrics_are_not_written_as_nan_points():
    summary = eval_summaries.build_summary({"Accuracy": 0.5, "Precision_3": float("nan")}, b"png", (4, 4))
    tags = [value.tag for value in summary.value]
    assert tags == ["eval/Accuracy", "eval/ConfusionMatrix"]
