"""Writes images held as uint8 arrays (CIFAR-10, MNIST) as PNG TF-Examples in one TFRecord per split."""
import io

import numpy as np
from PIL import Image

from datasets import dataset_utils
from slim_compat import tf
from utils import atomic_files, progress


def encode_png(image):
    """Returns the PNG bytes of a [height, width, channels] uint8 array (1 channel: grayscale)."""
    encoded = io.BytesIO()
    Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(encoded, format="PNG")
    return encoded.getvalue()


def write_split(path, images, labels):
    """Writes `images` ([n, height, width, channels] uint8) with `labels` to the TFRecord `path`, atomically.

    Returns:
      The number of examples written.
    """
    log = progress.ProgressLog(len(images), what=f"images of {path}")
    with atomic_files.atomic_path(path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
        for image, label in zip(images, labels):
            example = dataset_utils.image_to_tfexample(encode_png(image), b"png", image.shape[0], image.shape[1],
                                                       int(label))
            writer.write(example.SerializeToString())
            log.update(1)
    return len(images)


def finish(dataset_dir, class_names, split_sizes):
    """Writes labels.txt (`id:name` for `class_names`) and records `split_sizes` ({split: count})."""
    dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
    dataset_utils.write_split_sizes(split_sizes, dataset_dir)


def as_uint8(values, shape):
    """Returns `values` (bytes or an array) as a uint8 array of `shape`."""
    return np.frombuffer(values, dtype=np.uint8).reshape(shape) if isinstance(values, bytes) else \
        np.asarray(values, dtype=np.uint8).reshape(shape)
