"""A folder of fundus images as a one-pass input, preprocessed exactly like a TFRecord split.

The image id is the file name without its extension (`1_left.jpeg` -> `1_left`), as in
Kaggle's test folder. Raw photographs are first prepared like download_and_convert_data.py
prepares them (disc cropped, resized, gradability measured); files that cannot be read are
skipped and reported by name, photos judged ungradable are graded and listed beside the
submission.
"""
import os

from absl import logging

from datasets.dataset_utils import UNLABELLED
from datasets.download_and_convert_diabetic import QUALITY_FILENAME
from fundus import preparation as fundus_preparation
from fundus import quality as fundus_quality
from slim_compat import tf
from utils import atomic_files, names
from utils.progress import ProgressLog

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png")
SKIPPED_SUFFIX = "_skipped.txt"
UNGRADABLE_SUFFIX = "_ungradable.csv"
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


def prepare_photos(images, work_dir, image_size, crop_threshold, graham=False,
                   crop_mode=fundus_preparation.DEFAULT_CROP_MODE):
    """Writes each photograph of `images` ({id: path}) into `work_dir` as the conversion does.

    Reduced decode, disc (or book) crop, bicubic resize to `image_size`, Graham's
    normalisation if asked, and JPEG q95, by the same function as
    download_and_convert_data.py, so a model sees the same pixels as in its TFRecords.

    Returns:
      ({image id: prepared path} of the photographs that could be prepared,
       {path: reason} of the others, each also logged,
       {image id: fundus.quality.Quality} of the prepared ones).
    """
    prepared, skipped, qualities = {}, {}, {}
    progress = ProgressLog(len(images), "photographs")
    for image_id, path in images.items():
        destination = os.path.join(work_dir, image_id + ".jpeg")
        try:
            qualities[image_id], _ = fundus_preparation.preprocess_fundus(path, destination, image_size,
                                                                          crop_threshold, graham, crop_mode)
            prepared[image_id] = destination
        except (fundus_preparation.BadImageError, OSError) as error:
            logging.error("%s: skipped, %s", path, error)
            skipped[path] = str(error)
        progress.update(1)
    return prepared, skipped, qualities


def folder_batches(images, batch_size, num_preprocessing_threads=4):
    """Returns `make_batches` (see model_runner.collect_predictions) reading `images` ({id: path}) once."""
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


def _write_or_remove(path, write, **open_arguments):
    """Writes `path` atomically with `write(handle)`, or removes an older `path` when `write` is None."""
    if write is None:
        if os.path.exists(path):
            os.remove(path)
        return
    with atomic_files.open_atomically(path, **open_arguments) as handle:
        write(handle)


def write_skipped_report(submission_file, skipped, num_images):
    """Lists `skipped` ({path: reason}) beside the submission, or removes an older list when none was skipped.

    Raises:
      ValueError: one line saying how many of the `num_images` inputs were skipped and where they are listed.
    """
    def write_reasons(handle):
        handle.writelines(f"{image}: {reason}\n" for image, reason in sorted(skipped.items()))

    path = skipped_report_path(submission_file)
    _write_or_remove(path, write_reasons if skipped else None)
    if not skipped:
        return
    raise ValueError(f"{len(skipped)} of {num_images} images were skipped, listed in {path}; "
                     f"{submission_file} holds the other {num_images - len(skipped)}")


def conversion_qualities(tfrecords_dir):
    """Returns the gradability ({image id: Quality}) that the conversion wrote beside `tfrecords_dir`, or {}."""
    path = os.path.join(os.path.dirname(os.path.abspath(tfrecords_dir)), QUALITY_FILENAME)
    return fundus_quality.read_csv(path) if os.path.exists(path) else {}


def ungradable_list_path(submission_file):
    """Returns where the ungradable photos of a submission are listed: `NAME_ungradable.csv` beside `NAME.csv`."""
    return os.path.splitext(submission_file)[0] + UNGRADABLE_SUFFIX


def write_ungradable_list(submission_file, qualities, predicted_ids):
    """Lists the predicted photos judged ungradable, with their measures and problems, beside the submission.

    The submission keeps a grade for every photo (Kaggle's format); a screening programme
    should not act on the grades of the photos listed here. An older list is removed when none is.
    """
    ungradable = {image_id: qualities[image_id] for image_id in predicted_ids
                  if image_id in qualities and not qualities[image_id].gradable}

    def write_measures(handle):
        fundus_quality.write_csv(handle, ungradable, with_problems=True)

    path = ungradable_list_path(submission_file)
    _write_or_remove(path, write_measures if ungradable else None, newline="")
    if ungradable:
        logging.warning("%d of %d photos are ungradable (%s): graded in the submission, listed in %s",
                        len(ungradable), len(predicted_ids), names.first_few(sorted(ungradable)), path)
