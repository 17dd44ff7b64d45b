"""A folder of fundus images as a one-pass input, preprocessed exactly like a TFRecord split.

The image id is the file name without its extension (`1_left.jpeg` -> `1_left`), as in
Kaggle's test folder. Files TensorFlow cannot decode are skipped and reported by name.
"""
import os

from absl import logging

from datasets.dataset_utils import UNLABELLED
from slim_compat import tf

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")


def list_images(image_dir):
    """Returns {image id: path} for the JPEG and PNG files directly in `image_dir`.

    Raises:
      ValueError: no images, or two files with the same id (e.g. `1_left.jpeg` and `1_left.png`).
    """
    if not os.path.isdir(image_dir):
        raise ValueError(f"{image_dir}: not a directory")
    images = {}
    for name in sorted(os.listdir(image_dir)):
        image_id, extension = os.path.splitext(name)
        if extension.lower() not in IMAGE_EXTENSIONS:
            continue
        if image_id in images:
            raise ValueError(f"{os.path.join(image_dir, name)}: a second image with id {image_id}")
        images[image_id] = os.path.join(image_dir, name)
    if not images:
        raise ValueError(f"{image_dir}: no {'/'.join(IMAGE_EXTENSIONS)} files")
    return images


def folder_batches(images, batch_size, num_preprocessing_threads=4):
    """Returns `make_batches` (see evaluator.collect_predictions) reading `images` ({id: path}) once."""
    def make_batches(preprocessing_fn, image_size):
        def load(path, image_id):
            image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
            return {"images": preprocessing_fn(image, image_size, image_size, add_image_summaries=False),
                    "labels": tf.constant(UNLABELLED, tf.int64), "filenames": image_id}

        paths_and_ids = tf.data.Dataset.from_tensor_slices((list(images.values()), list(images)))
        batches = paths_and_ids.map(load, num_parallel_calls=max(1, num_preprocessing_threads))
        batches = batches.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)
        return tf.data.make_one_shot_iterator(batches).get_next()
    return make_batches


def report_unreadable(images, predicted_ids):
    """Logs one error line per image of `images` missing from `predicted_ids`; returns their paths."""
    predicted = set(predicted_ids)
    unreadable = [path for image_id, path in images.items() if image_id not in predicted]
    for path in unreadable:
        logging.error("%s: skipped, not a decodable JPEG/PNG image", path)
    return unreadable
