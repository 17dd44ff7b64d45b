"""Publishes one evaluation: `eval/NAME[VALUE]` lines, the confusion table, a PNG and TensorBoard summaries."""
import math
import os

from reporting import confusion_image
from slim_compat import tf
from utils import atomic_files

CONFUSION_PNG = "confusion_matrix.png"
SUMMARY_PREFIX = "eval/"


def format_metric_lines(metrics):
    """Returns one `eval/NAME[VALUE]` line per metric, the format upstream's eval printed."""
    return [f"{SUMMARY_PREFIX}{name}[{value:.6g}]" for name, value in metrics.items()]


def build_summary(metrics, confusion_png, image_size):
    """Returns a tf.Summary with one scalar per defined metric and the confusion matrix image.

    An undefined metric (NaN: e.g. Precision_g when no image is predicted as grade g) gets no
    point at this step (TensorBoard draws its curve through the defined points only).
    """
    values = [tf.Summary.Value(tag=SUMMARY_PREFIX + name, simple_value=value) for name, value in metrics.items()
              if math.isfinite(value)]
    width, height = image_size
    values.append(tf.Summary.Value(tag=SUMMARY_PREFIX + "ConfusionMatrix", image=tf.Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=confusion_png)))
    return tf.Summary(value=values)


def publish(metrics, matrix, class_names, eval_dir, summary_writer, global_step, print_fn=print, label_noun="grade"):
    """Prints the metrics and confusion table and writes the PNG and summaries to `eval_dir`.

    Args:
      metrics, matrix: what `metrics.compute_metrics` returns.
      class_names: names of the confusion matrix rows and columns.
      eval_dir: folder for the PNG.
      summary_writer: a `tf.summary.FileWriter`, kept open across evaluations of one run.
      global_step: the checkpoint's step, so TensorBoard plots eval curves on training's axis.
      print_fn: where the lines go.
      label_noun: what a label is ("grade", or "class" for a dataset without DR grades), for the titles.

    Returns:
      The path of the confusion matrix PNG.
    """
    for line in format_metric_lines(metrics):
        print_fn(line)
    print_fn(f"Confusion matrix (rows: true {label_noun}, columns: predicted {label_noun}):\n"
             + confusion_image.format_confusion_table(matrix, class_names))
    image = confusion_image.render_confusion_matrix(matrix, class_names, label_noun)
    png = confusion_image.encode_png(image)
    png_path = os.path.join(eval_dir, CONFUSION_PNG)
    with atomic_files.open_atomically(png_path, "wb") as handle:
        handle.write(png)
    summary_writer.add_summary(build_summary(metrics, png, image.size), global_step)
    summary_writer.flush()
    return png_path
