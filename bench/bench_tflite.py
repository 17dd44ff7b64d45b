"""The TFLite graders (float32, float16, int8) vs the SavedModel on a validation split.

    python bench/bench_tflite.py --checkpoint_path=TRAIN --dataset_dir=DIR/tfrecords

Exports the checkpoint as export_inference_graph.py does (a SavedModel and the three
TFLite files, int8 calibrated on the training split) into --work_dir, then grades the
split's prepared images one at a time, as a device does: the SavedModel on each image's
PNG, each TFLite file on its pixels with LiteRT (ai-edge-litert) and with TensorFlow's
deprecated tf.lite.Interpreter. Prints, per model and interpreter, the file size, how many
images get the SavedModel's grade, the largest probability difference, QWK against the
labels and images/s (model loading excluded; the fastest of --repeats passes over the
split, as other jobs on the machine slow some passes down), with the ratio to the SavedModel
measured in the same run.
"""
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from grading import metrics
from inference import split_images
from serving import saved_model_grader, tflite_export, tflite_grader
import results_file  # noqa: E402

flags.DEFINE_string("checkpoint_path", None, "The training folder (with run_settings.json) or a checkpoint in it.")
flags.DEFINE_string("dataset_dir", None, "The TFRecords folder it was trained on (calibration and the split).")
flags.DEFINE_string("split", "validation", "The split to compare on.")
flags.DEFINE_string("work_dir", None, "Where the exports are written (a new temporary folder by default).")
flags.DEFINE_integer("calibration_images", 200, "Training images the int8 quantisation is calibrated on.")
flags.DEFINE_integer("num_threads", os.cpu_count(), "Threads of each TFLite interpreter.")
flags.DEFINE_integer("repeats", 3, "Timed passes over the split per model; the fastest counts.")
results_file.define_flag()
FLAGS = flags.FLAGS


def export_all(work_dir):
    """Runs export_inference_graph.py for the SavedModel and each TFLite precision; returns their paths."""
    saved_model_dir = os.path.join(work_dir, "saved_model")
    tflite_files = {precision: os.path.join(work_dir, f"grader_{precision}.tflite")
                    for precision in tflite_export.PRECISIONS}
    runs = [[f"--saved_model_dir={saved_model_dir}"]] + [
        [f"--tflite={path}", f"--tflite_precision={precision}"] for precision, path in tflite_files.items()]
    for extra in runs:
        run = subprocess.run([sys.executable, "export_inference_graph.py", f"--checkpoint_path={FLAGS.checkpoint_path}",
                              f"--dataset_dir={FLAGS.dataset_dir}", f"--calibration_images={FLAGS.calibration_images}",
                              *extra], cwd=REPO_ROOT, capture_output=True, text=True)
        if run.returncode:
            sys.exit(run.stderr.strip().splitlines()[-1])
    return saved_model_dir, tflite_files


def folder_megabytes(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 1e6
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names) / 1e6


def png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def fastest(run, count):
    """Calls `run()` --repeats times after a warm-up call; returns (its last result, the best images/s of `count`)."""
    run()
    seconds = []
    for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return result, count / min(seconds)


def saved_model_grades(saved_model_dir, images):
    """Returns (probabilities, grades, images/s) of the SavedModel, one image per call."""
    encoded = [png(image) for image in images]
    grader = saved_model_grader.SavedModelGrader(saved_model_dir)
    try:
        (probabilities, grades), rate = fastest(lambda: grader.graded(encoded, batch_size=1), len(images))
    finally:
        grader.close()
    return probabilities, grades, rate


def tflite_grades(path, images, interpreter):
    """Returns (probabilities, grades, images/s) of a TFLite file with `interpreter`."""
    grader = tflite_grader.TFLiteGrader(path, interpreter, num_threads=FLAGS.num_threads)
    outputs, rate = fastest(lambda: grader.outputs(images), len(images))
    return outputs["probabilities"], outputs["grade"], rate


def qwk(labels, grades, num_classes):
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, num_classes))


def main(_):
    work_dir = FLAGS.work_dir or tempfile.mkdtemp(prefix="bench_tflite_")
    saved_model_dir, tflite_files = export_all(work_dir)
    sidecar = tflite_export.read_sidecar(tflite_files["float32"])
    size, num_classes = sidecar["input"]["shape"][1], len(sidecar["grade_names"])
    split = split_images.read_split(sidecar["run_settings"].get("dataset_name", "diabetic"), FLAGS.split,
                                    FLAGS.dataset_dir, size)
    reference, reference_grades, reference_rate = saved_model_grades(saved_model_dir, split.images)
    count = len(split.labels)
    print(f"{sidecar['model_name']} at {size} px, {FLAGS.split} split: {count} images; "
          f"TFLite interpreters with {FLAGS.num_threads} threads; exports in {work_dir}")
    print("| model | interpreter | MB | same grade as SavedModel | largest probability difference | QWK | "
          "images/s | vs SavedModel |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| SavedModel | TensorFlow session | {folder_megabytes(saved_model_dir):.1f} | - | - | "
          f"{qwk(split.labels, reference_grades, num_classes):.3f} | {reference_rate:.1f} | 1.00x |")
    for precision, path in tflite_files.items():
        for interpreter in tflite_grader.INTERPRETERS:
            probabilities, grades, rate = tflite_grades(path, split.images, interpreter)
            print(f"| TFLite {precision} | {interpreter} | {folder_megabytes(path):.1f} | "
                  f"{int((grades == reference_grades).sum())} of {count} | "
                  f"{np.abs(probabilities - reference).max():.5f} | {qwk(split.labels, grades, num_classes):.3f} | "
                  f"{rate:.1f} | {rate / reference_rate:.2f}x |")


if __name__ == "__main__":
    flags.mark_flags_as_required(["checkpoint_path", "dataset_dir"])
    app.run(results_file.recorded(main, "bench_tflite"))
