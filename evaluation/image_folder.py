"""A folder of fundus images as a one-pass input, preprocessed exactly like a TFRecord split.

The image id is the file name without its extension (`1_left.jpeg` -> `1_left`), as in
Kaggle's test folder. Raw photographs are first prepared like download_and_convert_data.py
prepares them (black border cropped, resized); files that cannot be read are skipped and
reported by name.
"""
import os

from absl import logging

from utils import atomic_files

import data_utils
from datasets.dataset_utils import UNLABELLED
from slim_compat import tf
from utils.progress import ProgressLog

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")
SKIPPED_SUFFIX = "_skipped.txt"
UNREADABLE = "not a decodable JPEG/PNG image"


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


def prepare_photos(images, work_dir, image_size, crop_threshold, graham=False):
    """Writes each photograph of `images` ({id: path}) into `work_dir` as the conversion does.

    Reduced decode, black-border crop, bicubic resize to `image_size`, Graham's
    normalisation if asked, and JPEG q95, by the same function as
    download_and_convert_data.py, so a model sees
    the same pixels as in its TFRecords.

    Returns:
      ({image id: prepared path} of the photographs that could be prepared,
       {path: reason} of the others, each also logged).
    """
    prepared, skipped = {}, {}
    progress = ProgressLog(len(images), "photographs")
    for image_id, path in images.items():
        destination = os.path.join(work_dir, image_id + ".jpeg")
        try:
            data_utils.preprocess_fundus(path, destination, image_size, crop_threshold, graham)
            prepared[image_id] = destination
        except (data_utils.BadImageError, OSError) as error:
            logging.error("%s: skipped, %s", path, error)
            skipped[path] = str(error)
        progress.update(1)
    return prepared, skipped


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
        logging.error("%s: skipped, %s", path, UNREADABLE)
    return unreadable


def skipped_report_path(submission_file):
    """Returns where the skipped files of a submission are listed: `NAME_skipped.txt` beside `NAME.csv`."""
    return os.path.splitext(submission_file)[0] + SKIPPED_SUFFIX


def write_skipped_report(submission_file, skipped, num_images):
    """Lists `skipped` ({path: reason}) beside the submission, or removes an older list when none was skipped.

    Raises:
      ValueError: one line saying how many of the `num_images` inputs were skipped and where they are listed.
    """
    path = skipped_report_path(submission_file)
    if not skipped:
        if os.path.exists(path):
            os.remove(path)
        return
    with atomic_files.open_atomically(path) as handle:
        handle.writelines(f"{image}: {reason}\n" for image, reason in sorted(skipped.items()))
    raise ValueError(f"{len(skipped)} of {num_images} images were skipped, listed in {path}; "
                     f"{submission_file} holds the other {num_images - len(skipped)}")
