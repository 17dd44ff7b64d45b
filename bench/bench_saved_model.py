"""The SavedModel grader vs predict_image_classifier.py --image_dir on the same camera photographs.

    python bench/bench_saved_model.py --checkpoint_path=TRAIN --saved_model_dir=export/1 --image_dir=DIR/test

Both start from the JPEG files: predict prepares each photograph with Pillow
(disc crop, resize, Graham's normalisation when the model was trained on it, JPEG)
and then runs the checkpoint; the SavedModel does all of it in its graph. Prints
how many photographs get the same grade (n of n), the largest difference of a
probability, each path's images/s (model set-up included: graph building and
restore for predict, loading for the SavedModel), and the in-graph preparation's
own images/s (fundus.graph_preparation, one photo a call) without and with
Graham's normalisation.
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fundus import graph_preparation  # noqa: E402
from inference import image_folder, model_runner  # noqa: E402
from serving import saved_model_grader  # noqa: E402
from slim_compat import tf  # noqa: E402
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
            bool(conversion.graham), conversion.crop_mode)
        predictions = model_runner.collect_predictions(
            resolve(checkpoint_path), model_runner.ModelConfig.from_description(description),
            image_folder.folder_batches(prepared, batch_size), len(prepared))
    return dict(zip(predictions.filenames, predictions.probabilities)), time.time() - start


def read_photos(image_dir):
    """{image id: the file's bytes} of the photographs in `image_dir`."""
    encoded = {}
    for name, path in image_folder.list_images(image_dir).items():
        with open(path, "rb") as handle:
            encoded[name] = handle.read()
    return encoded


def saved_model_path(saved_model_dir, image_dir, batch_size):
    """The SavedModel on the files' bytes: returns ({image id: probabilities}, seconds)."""
    start = time.time()
    images = read_photos(image_dir)
    encoded = list(images.values())
    grader = saved_model_grader.SavedModelGrader(saved_model_dir)
    try:
        probabilities = grader.probabilities(encoded, batch_size)
    finally:
        grader.close()
    return dict(zip(images, probabilities)), time.time() - start


def preparation_rates(encoded, conversion):
    """{graham: images/s} of graph_preparation.prepared_image alone at the model's conversion settings, without
    and with Graham's normalisation, one photograph a call after one untimed call."""
    rates = {}
    for graham in (False, True):
        with tf.Graph().as_default() as graph:
            image_bytes = tf.placeholder(tf.string, [])
            prepared = graph_preparation.prepared_image(image_bytes, conversion.image_size, conversion.crop_threshold,
                                                        conversion.crop_mode, graham)
        with tf.Session(graph=graph) as session:
            session.run(prepared, {image_bytes: encoded[0]})
            start = time.time()
            for photo in encoded:
                session.run(prepared, {image_bytes: photo})
            rates[graham] = len(encoded) / (time.time() - start)
    return rates


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
    conversion = model_description.for_checkpoint(FLAGS.checkpoint_path).conversion
    rates = preparation_rates(list(read_photos(FLAGS.image_dir).values()), conversion)
    print(f"in-graph preparation at {conversion.image_size} px: {rates[False]:.2f} images/s, with Graham's "
          f"normalisation {rates[True]:.2f} images/s ({rates[False] / rates[True]:.2f}x the time)")


if __name__ == "__main__":
    flags.mark_flags_as_required(["checkpoint_path", "saved_model_dir", "image_dir"])
    app.run(results_file.recorded(main, "bench_saved_model"))
