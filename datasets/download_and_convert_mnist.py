r"""Downloads MNIST and converts it to upstream TF-Slim's TFRecords.

Writes `mnist_train.tfrecord` (60,000 digits), `mnist_test.tfrecord` (10,000) and
`labels.txt` into the dataset folder. Offline, put the four `*-ubyte.gz` files
(from DATA_URL) into that folder first: they are used instead of a download, and kept.
"""
import gzip
import os
import struct

from absl import logging

from datasets import array_images, downloads

DATA_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
TRAIN_DATA_FILENAME = "train-images-idx3-ubyte.gz"
TRAIN_LABELS_FILENAME = "train-labels-idx1-ubyte.gz"
TEST_DATA_FILENAME = "t10k-images-idx3-ubyte.gz"
TEST_LABELS_FILENAME = "t10k-labels-idx1-ubyte.gz"
SPLIT_FILES = {"train": (TRAIN_DATA_FILENAME, TRAIN_LABELS_FILENAME),
               "test": (TEST_DATA_FILENAME, TEST_LABELS_FILENAME)}
IMAGE_SIZE = 28
# Upstream wrote 'size' for six.
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def output_filename(dataset_dir, split_name):
    """Returns the path of one split's TFRecord."""
    return os.path.join(dataset_dir, f"mnist_{split_name}.tfrecord")


def _read_idx(path, magic, header_counts):
    """Returns (the counts after the magic number, the payload) of a gzipped IDX file.

    Raises:
      ValueError: not an IDX file of that kind.
    """
    try:
        with gzip.open(path) as handle:
            header = handle.read(4 * (1 + header_counts))
            found, *counts = struct.unpack(f">{1 + header_counts}I", header)
            payload = handle.read()
    except (OSError, EOFError, struct.error) as error:
        raise ValueError(f"{path}: not a gzipped MNIST file ({error})") from error
    if found != magic:
        raise ValueError(f"{path}: not an MNIST {'images' if magic == IMAGES_MAGIC else 'labels'} file "
                         f"(magic number {found})")
    return counts, payload


def read_split(images_path, labels_path):
    """Returns (images [n, 28, 28, 1] uint8, labels [n]) from MNIST's IDX files.

    Raises:
      ValueError: a file is not MNIST's, or the two counts differ.
    """
    (num_images, rows, cols), pixels = _read_idx(images_path, IMAGES_MAGIC, 3)
    (num_labels,), labels = _read_idx(labels_path, LABELS_MAGIC, 1)
    if num_images != num_labels:
        raise ValueError(f"{images_path} holds {num_images} images but {labels_path} {num_labels} labels")
    images = array_images.as_uint8(pixels[:num_images * rows * cols], (num_images, rows, cols, 1))
    return images, array_images.as_uint8(labels[:num_labels], (num_labels,))


def run(dataset_dir):
    """Converts MNIST into `dataset_dir` unless both TFRecords are there; returns 0.

    Raises:
      ValueError: a file is missing and cannot be downloaded, or is not MNIST's.
    """
    os.makedirs(dataset_dir, exist_ok=True)
    if all(os.path.exists(output_filename(dataset_dir, split)) for split in SPLIT_FILES):
        logging.info("Dataset files already exist. Exiting without re-creating them.")
        return 0
    paths = {split: [downloads.download_url(DATA_URL + name, dataset_dir) for name in names]
             for split, names in SPLIT_FILES.items()}
    sizes = {split: array_images.write_split(output_filename(dataset_dir, split), *read_split(*split_paths))
             for split, split_paths in paths.items()}
    array_images.finish(dataset_dir, CLASS_NAMES, sizes)
    logging.info("Finished converting the MNIST dataset: %s", sizes)
    return 0
