"""The SavedModel grader vs predict_image_classifier.py --image_dir on the same camera photographs.

    python bench/bench_saved_model.py --checkpoint_path=TRAIN --saved_model_dir=export/1 --image_dir=DIR/test

Both start from the JPEG files: predict prepares each photograph with Pillow
(border crop, resize, JPEG) and then runs the checkpoint; the SavedModel does
all of it in its graph. Prints how many photographs get the same grade (n of n),
the largest difference of a probability, and each path's images/s (model set-up
included: graph building and restore for predict, loading for the SavedModel).
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inference import image_folder, model_runner
from serving import saved_model_grader
from utils.checkpoint_files import resolve  # noqa: E402
from utils import model_description  # noqa: E402
import results_file  # noqa: E402

flags.DEFINE_string("checkpoint_path", None, "The training folder (with run_settings.json) or a checkpoint in it.")
flags.DEFINE_string("saved_model_dir", None, "The SavedModel exported from that checkpoint.")
flags.DEFINE_string("image_dir", None, "A folder of camera photographs (JPEG).")
flags.DEFINE_integer("batch_size", 16, "Images per batch on both paths.")
results_file.define_flag()
FLAGS = flags.FLAGS


def predict_path(checkpoint_path, image_dir, batch_size):
    """predict --image_dir's pipeline: returns ({image id: probabilities}, seconds)."""
    description = model_description.for_checkpoint(checkpoint_path)
    conversion = description.conversion
    start = time.time()
    with tempfile.TemporaryDirectory() as work_dir:
        prepared, _, _ = image_folder.prepare_photos(
            image_folder.list_images(image_dir), work_dir, conversion.image_size, conversion.crop_threshold,
            crop_mode=conversion.crop_mode)
        predictions = model_runner.collect_predictions(
            resolve(checkpoint_path), model_runner.ModelConfig.from_description(description),
            image_folder.folder_batches(prepared, batch_size), len(prepared))
    return dict(zip(predictions.filenames, predictions.probabilities)), time.time() - start


def saved_model_path(saved_model_dir, image_dir, batch_size):
    """The SavedModel on the files' bytes: returns ({image id: probabilities}, seconds)."""
    start = time.time()
    images = image_folder.list_images(image_dir)
    encoded = []
    for path in images.values():
        with open(path, "rb") as handle:
            encoded.append(handle.read())
    grader = saved_model_grader.SavedModelGrader(saved_model_dir)
    try:
        probabilities = grader.probabilities(encoded, batch_size)
    finally:
        grader.close()
    return dict(zip(images, probabilities)), time.time() - start


def main(_):
    served, served_seconds = saved_model_path(FLAGS.saved_model_dir, FLAGS.image_dir, FLAGS.batch_size)
    predicted, predicted_seconds = predict_path(FLAGS.checkpoint_path, FLAGS.image_dir, FLAGS.batch_size)
    names = sorted(predicted)
    expected = np.array([predicted[name] for name in names])
    got = np.array([served[name] for name in names])
    agree = int((expected.argmax(axis=1) == got.argmax(axis=1)).sum())
    print(f"photographs: {len(names)} (SavedModel read {len(served)})")
    print(f"same grade as predict: {agree} of {len(names)}")
    print(f"largest probability difference: {np.abs(expected - got).max():.5f}")
    print(f"predict --image_dir: {len(names) / predicted_seconds:.2f} images/s ({predicted_seconds:.1f} s)")
    print(f"SavedModel:          {len(served) / served_seconds:.2f} images/s ({served_seconds:.1f} s), "
          f"{predicted_seconds / served_seconds:.2f}x predict")


if __name__ == "__main__":
    flags.mark_flags_as_required(["checkpoint_path", "saved_model_dir", "image_dir"])
    app.run(results_file.recorded(main, "bench_saved_model"))
