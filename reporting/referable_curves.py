"""Curves of the referable-DR score for one evaluation: a ROC picture and TensorBoard's precision-recall curve.

The score is P(grade >= 2) (metrics.referable_probability). The ROC picture marks
the operating point of the grader itself (referable when the predicted grade is
>= 2) and the four screening operating points (screening.OPERATING_POINTS), and is
written as EVAL_DIR/referable_roc.png and as a TensorBoard image;
the precision-recall curve goes to TensorBoard's PR-curve plugin. The trial report
(reporting.trial_report) draws its ROC curves and reliability diagram here too.
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tensorboard.plugins.pr_curve import summary as pr_curve_summary

from grading import metrics, screening
from reporting import confusion_image
from slim_compat import tf
from utils import atomic_files

ROC_PNG = "referable_roc.png"
ROC_TAG = "eval/Referable_ROC"
PR_CURVE_TAG = "Referable_PR"
PR_THRESHOLDS = 201
PLOT = 320
MARGIN = 56
FONT_SIZE = 13
CURVE = (8, 48, 107)
POINT = (200, 30, 30)
GREY = (170, 170, 170)
SCREENING = (20, 120, 40)
# Legend labels of screening.OPERATING_POINTS.
SCREENING_LABELS = {"Referable_Sensitivity_at_Specificity90": "spec >= 0.90",
                    "Referable_Sensitivity_at_Specificity95": "spec >= 0.95",
                    "Referable_Specificity_at_Sensitivity90": "sens >= 0.90",
                    "Referable_Specificity_at_Sensitivity975": "sens >= 0.975"}


def roc_pixel(fpr, tpr):
    """Returns the (x, y) pixel of an ROC point in render_roc's picture."""
    return MARGIN + fpr * PLOT, MARGIN + (1 - tpr) * PLOT


def _axes(title, x_label, y_label):
    """Returns (image, draw, font): a blank square plot from 0 to 1 on both axes, its diagonal, ticks and labels."""
    font = ImageFont.load_default(size=FONT_SIZE)
    image = Image.new("RGB", (PLOT + 2 * MARGIN, PLOT + 2 * MARGIN), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((MARGIN, MARGIN, MARGIN + PLOT, MARGIN + PLOT), outline=(0, 0, 0))
    draw.line([roc_pixel(0, 0), roc_pixel(1, 1)], fill=GREY, width=1)
    for tick in (0.0, 0.5, 1.0):
        x, y = roc_pixel(tick, tick)
        draw.text((x, MARGIN + PLOT + 6), f"{tick:g}", font=font, fill=(0, 0, 0), anchor="mt")
        draw.text((MARGIN - 6, y), f"{tick:g}", font=font, fill=(0, 0, 0), anchor="rm")
    draw.text((MARGIN + PLOT / 2, 14), title, font=font, fill=(0, 0, 0), anchor="mt")
    draw.text((MARGIN + PLOT / 2, MARGIN + PLOT + 26), x_label, font=font, fill=(0, 0, 0), anchor="mt")
    label = Image.new("RGB", (PLOT, 18), (255, 255, 255))
    ImageDraw.Draw(label).text((PLOT / 2, 9), y_label, font=font, fill=(0, 0, 0), anchor="mm")
    image.paste(label.rotate(90, expand=True), (8, MARGIN))
    return image, draw, font


def render_roc(fpr, tpr, point, auc, screening_points=(), title=None, point_label="predicted grade >= 2"):
    """Returns an RGB PIL image of the ROC curve with `point` = (1 - specificity, sensitivity) marked.

    Args:
      fpr, tpr: the curve (screening.roc_curve), all finite.
      point: the grader's own operating point, or None when undefined.
      auc: the area under the curve, for the default title.
      screening_points: (label, sensitivity, specificity) of screening operating points, drawn as
        numbered diamonds with a legend in the lower right.
      title: the picture's title; by default the referable ROC's with the AUC.
      point_label: what `point` is, in its label.
    """
    image, draw, font = _axes(title or f"referable DR (grade >= 2): ROC, AUC {auc:.3f}", "1 - specificity",
                              "sensitivity")
    draw.line([roc_pixel(x, y) for x, y in zip(fpr, tpr)], fill=CURVE, width=3)
    for number, (label, sensitivity, specificity) in enumerate(screening_points, start=1):
        x, y = roc_pixel(1 - specificity, sensitivity)
        draw.polygon([(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)], fill=SCREENING, outline=(0, 0, 0))
        draw.text((x - 8, y - 8), str(number), font=font, fill=SCREENING, anchor="rb")
        draw.text((MARGIN + PLOT - 6, MARGIN + PLOT - 6 - 16 * (len(screening_points) - number)),
                  f"{number}: {label}: sens {sensitivity:.2f}, spec {specificity:.2f}", font=font, fill=SCREENING,
                  anchor="rb")
    if point is not None:
        x, y = roc_pixel(*point)
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=POINT, outline=(0, 0, 0))
        draw.text((x + 10, y + 8), f"{point_label}: sens {point[1]:.2f}, spec {1 - point[0]:.2f}",
                  font=font, fill=POINT, anchor="lt" if x < MARGIN + PLOT / 2 else "rt")
    return image


def render_reliability(bins, ece, title="calibration of P(grade >= 2)"):
    """Returns an RGB PIL image of a reliability diagram: observed frequency against mean probability per bin.

    Args:
      bins: [{"low", "high", "count", "mean_probability", "observed"}] (trial_figures.calibration);
        each non-empty bin is a bar over its probability range up to its observed frequency, with a
        dot at its mean probability (on the diagonal when calibrated) and its count above.
      ece: the expected calibration error, for the title.
    """
    image, draw, font = _axes(f"{title}: ECE {ece:.3f}", "predicted probability", "observed frequency")
    for entry in bins:
        if not entry["count"]:
            continue
        left, top = roc_pixel(entry["low"], entry["observed"])
        right, bottom = roc_pixel(entry["high"], 0)
        draw.rectangle((left + 1, top, right - 1, bottom), fill=(158, 202, 225), outline=CURVE)
        x, y = roc_pixel(entry["mean_probability"], entry["observed"])
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=POINT)
        draw.text(((left + right) / 2, top - 3), str(entry["count"]), font=font, fill=(0, 0, 0), anchor="mb")
    return image


def pr_curve_proto(binary_labels, scores):
    """Returns the serialized summary of the PR curve of `scores` for `binary_labels` (TensorBoard's plugin)."""
    return pr_curve_summary.pb(PR_CURVE_TAG, np.asarray(binary_labels, dtype=bool),
                               np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0),
                               num_thresholds=PR_THRESHOLDS, display_name="referable DR (grade >= 2)",
                               description="Precision and recall of P(grade >= 2) >= threshold.").SerializeToString()


def publish(labels, probabilities, values, eval_dir, summary_writer, global_step):
    """Writes the ROC picture (PNG and TensorBoard image) and the PR curve of one evaluation.

    Args:
      labels, probabilities: the pass's true grades and [num_images, num_classes] probabilities.
      values: its metrics (compute_metrics), for the AUC and the grader's operating point.
      eval_dir, summary_writer, global_step: as report.publish.

    Returns:
      The path of the ROC PNG, or None when the ROC is undefined (a split without referable
      or without non-referable images: nothing is drawn then).
    """
    referable = np.asarray(labels) >= metrics.REFERABLE_GRADE
    scores = metrics.referable_probability(probabilities)
    summary_writer.add_summary(pr_curve_proto(referable, scores), global_step)
    fpr, tpr, _ = screening.roc_curve(referable, scores)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        summary_writer.flush()
        return None
    sensitivity, specificity = values["Referable_Sensitivity"], values["Referable_Specificity"]
    points = screening.screening_operating_points(referable, scores)
    image = render_roc(fpr, tpr, (1 - specificity, sensitivity), values["Referable_AUC"],
                       [(SCREENING_LABELS[name], *points[name][:2]) for name in SCREENING_LABELS])
    png = confusion_image.encode_png(image)
    png_path = os.path.join(eval_dir, ROC_PNG)
    with atomic_files.open_atomically(png_path, "wb") as handle:
        handle.write(png)
    summary_writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag=ROC_TAG, image=tf.Summary.Image(
        height=image.size[1], width=image.size[0], colorspace=3, encoded_image_string=png))]), global_step)
    summary_writer.flush()
    return png_path
