r"""Downloads CIFAR-10 (python version) and converts it to upstream TF-Slim's TFRecords.

Writes `cifar10_train.tfrecord` (50,000 images), `cifar10_test.tfrecord` (10,000)
and `labels.txt` into the dataset folder. Offline, put `cifar-10-python.tar.gz`
(from DATA_URL) into that folder first: it is used instead of a download, and kept.
"""
import os
import pickle
import shutil

import numpy as np
from absl import logging

from datasets import array_images, downloads

DATA_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
EXTRACTED_DIR = "cifar-10-batches-py"
NUM_TRAIN_FILES = 5
IMAGE_SIZE = 32
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def output_filename(dataset_dir, split_name):
    """Returns the path of one split's TFRecord."""
    return os.path.join(dataset_dir, f"cifar10_{split_name}.tfrecord")


def read_batch(path):
    """Returns (images [n, 32, 32, 3] uint8, labels) of one pickled CIFAR-10 batch file."""
    with open(path, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    data = batch[b"data"] if b"data" in batch else batch["data"]
    labels = batch[b"labels"] if b"labels" in batch else batch["labels"]
    images = array_images.as_uint8(data, (-1, 3, IMAGE_SIZE, IMAGE_SIZE)).transpose(0, 2, 3, 1)
    return images, np.asarray(labels, dtype=np.int64)


def _read_batches(batch_dir, names):
    images, labels = zip(*(read_batch(os.path.join(batch_dir, name)) for name in names))
    return np.concatenate(images), np.concatenate(labels)


def run(dataset_dir):
    """Converts CIFAR-10 into `dataset_dir` unless both TFRecords are there; returns 0.

    Raises:
      ValueError: the archive is missing and cannot be downloaded, or is not CIFAR-10's.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if all(os.path.exists(output_filename(dataset_dir, split)) for split in ("train", "test")):
        logging.info("Dataset files already exist. Exiting without re-creating them.")
        return 0
    downloads.download_and_uncompress_tarball(DATA_URL, dataset_dir)
    batch_dir = os.path.join(dataset_dir, EXTRACTED_DIR)
    try:
        splits = {"train": [f"data_batch_{index}" for index in range(1, NUM_TRAIN_FILES + 1)],
                  "test": ["test_batch"]}
        sizes = {split: array_images.write_split(output_filename(dataset_dir, split),
                                                 *_read_batches(batch_dir, names))
                 for split, names in splits.items()}
    except (OSError, KeyError, pickle.UnpicklingError) as error:
        raise ValueError(f"{batch_dir}: not CIFAR-10's python batches ({error})") from error
    finally:
        shutil.rmtree(batch_dir, ignore_errors=True)
    array_images.finish(dataset_dir, CLASS_NAMES, sizes)
    logging.info("Finished converting the Cifar10 dataset: %s", sizes)
    return 0
