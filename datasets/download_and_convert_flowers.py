r"""Downloads the TensorFlow flowers photos and converts them to upstream TF-Slim's TFRecords.

Writes `flowers_{train,validation}_0000i-of-00005.tfrecord` (350 validation photos,
the rest for training, picked by a seeded shuffle) and `labels.txt` (the class
folders, sorted) into the dataset folder. Offline, put `flower_photos.tgz` (from
DATA_URL) into that folder first: it is used instead of a download, and kept.
"""
import os
import random
import shutil

from absl import logging

from datasets import dataset_utils, downloads, tfrecord_writer

DATA_URL = "http://download.tensorflow.org/example_images/flower_photos.tgz"
EXTRACTED_DIR = "flower_photos"
NAME_PREFIX = "flowers"
NUM_VALIDATION = 350
RANDOM_SEED = 0
NUM_SHARDS = 5


def photos_and_classes(photos_dir):
    """Returns ([(photo path, class name, file name)] sorted, sorted class names) of `photos_dir/<class>/*`."""
    class_names = sorted(name for name in os.listdir(photos_dir) if os.path.isdir(os.path.join(photos_dir, name)))
    photos = [(os.path.join(photos_dir, name, filename), name, filename) for name in class_names
              for filename in sorted(os.listdir(os.path.join(photos_dir, name)))]
    return photos, class_names


def dataset_exists(dataset_dir):
    """Returns whether every shard of both splits is there."""
    return all(tfrecord_writer.split_is_complete(dataset_dir, NAME_PREFIX, split) for split in ("train", "validation"))


def run(dataset_dir, num_validation=NUM_VALIDATION):
    """Converts the flowers photos into `dataset_dir` unless its TFRecords are there; returns 0.

    Raises:
      ValueError: the archive is missing and cannot be downloaded, holds no class folders, has too few
        photos for `num_validation` plus a training set, or a photo is not a JPEG or PNG.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if dataset_exists(dataset_dir):
        logging.info("Dataset files already exist. Exiting without re-creating them.")
        return 0
    downloads.download_and_uncompress_tarball(DATA_URL, dataset_dir)
    photos_dir = os.path.join(dataset_dir, EXTRACTED_DIR)
    try:
        if not os.path.isdir(photos_dir):
            raise ValueError(f"{DATA_URL.split('/')[-1]} in {dataset_dir} holds no {EXTRACTED_DIR}/ folder")
        photos, class_names = photos_and_classes(photos_dir)
        if len(photos) <= num_validation:
            raise ValueError(f"{photos_dir}: {len(photos)} photos, but {num_validation} are held out for "
                             "validation and training needs more")
        random.Random(RANDOM_SEED).shuffle(photos)
        class_ids = {name: index for index, name in enumerate(class_names)}
        splits = {"validation": photos[:num_validation], "train": photos[num_validation:]}
        sizes = {split: tfrecord_writer.write_sharded_tfrecords(
            [(path, class_ids[name], filename) for path, name, filename in split_photos], dataset_dir,
            NAME_PREFIX, split, num_shards=NUM_SHARDS, seed=RANDOM_SEED)
            for split, split_photos in splits.items()}
    finally:
        shutil.rmtree(photos_dir, ignore_errors=True)
    dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
    dataset_utils.write_split_sizes(sizes, dataset_dir)
    logging.info("Finished converting the Flowers dataset: %s", sizes)
    return 0
