"""Writes shuffled, sharded TFRecords of encoded images for any dataset.

Shards are named `{prefix}_{split}_{i:05d}-of-{n:05d}.tfrecord` (upstream's
flowers naming). Each example holds the file's bytes as they are; width and
height come from the JPEG/PNG header (Pillow reads only the header until pixels
are asked for), so no image is decoded. Every shard is written under a temporary
name and renamed, and shards of an earlier run with another shard count are
removed, so the split's glob only ever matches one complete set.
"""
import glob
import io
import math
import os
import random
import re

from PIL import Image

from datasets import dataset_utils
from slim_compat import tf
from utils import atomic_files

# Pillow's format names to upstream's `image/format` values.
IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png"}
IMAGES_PER_SHARD = 1024
MIN_SHARDS = 4


def shard_path(output_dir, name_prefix, split_name, shard, num_shards):
    """Returns the path of one shard."""
    return os.path.join(output_dir, f"{name_prefix}_{split_name}_{shard:05d}-of-{num_shards:05d}.tfrecord")


def default_num_shards(num_images):
    """Returns about one shard per 1,024 images, at least 4 (for parallel reads) and at most one per image."""
    return max(min(MIN_SHARDS, num_images), math.ceil(num_images / IMAGES_PER_SHARD))


def _existing_shards(output_dir, name_prefix, split_name):
    pattern = re.compile(re.escape(f"{name_prefix}_{split_name}_") + r"(\d{5})-of-(\d{5})\.tfrecord$")
    found = (pattern.match(os.path.basename(path))
             for path in glob.glob(os.path.join(output_dir, f"{name_prefix}_{split_name}_*.tfrecord")))
    return [(int(match.group(1)), int(match.group(2)), match.group(0)) for match in found if match]


def remove_split(output_dir, name_prefix, split_name):
    """Removes every shard of a split (e.g. one an earlier conversion wrote and this one does not)."""
    for _, _, name in _existing_shards(output_dir, name_prefix, split_name):
        os.remove(os.path.join(output_dir, name))


def split_is_complete(output_dir, name_prefix, split_name):
    """Returns whether every shard `i-of-n` of the split is present (and no other set)."""
    shards = _existing_shards(output_dir, name_prefix, split_name)
    counts = {num_shards for _, num_shards, _ in shards}
    return len(counts) == 1 and sorted(shard for shard, _, _ in shards) == list(range(counts.pop()))


def read_image_header(image_data):
    """Returns (upstream format name, height, width) from an encoded image's header.

    Raises:
      ValueError: the bytes are not a JPEG or PNG image.
    """
    try:
        with Image.open(io.BytesIO(image_data)) as image:
            width, height = image.size
            image_format = image.format
    except (OSError, SyntaxError) as error:
        raise ValueError(f"not a readable image ({error})") from error
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"{image_format} images are not supported; use JPEG or PNG")
    return IMAGE_FORMATS[image_format], height, width


def write_sharded_tfrecords(images, output_dir, name_prefix, split_name, num_shards=None, seed=0, conversion=None):
    """Writes `images` as shuffled TFRecord shards of one split.

    Args:
      images: list of (image path, class id, image id) or (image path, class id, image id, extras); the
        image id goes to `image/filename`, extras ({feature key: int or str}) are written as they are.
      output_dir: folder for the shards (created if needed).
      name_prefix: dataset name, e.g. `diabetic`.
      split_name: e.g. `train`.
      num_shards: number of shards; None picks `default_num_shards`.
      seed: seed of the shuffle, so reruns write the same shards.
      conversion: the settings the images were made with (JSON text), stored in every example
        as `image/conversion`; None stores nothing.

    Returns:
      The number of examples written.

    Raises:
      ValueError: an image is not a JPEG or PNG (the message names the file).
    """
    os.makedirs(output_dir, exist_ok=True)
    shuffled = list(images)
    random.Random(seed).shuffle(shuffled)
    num_shards = num_shards or default_num_shards(len(shuffled))
    written_names = set()
    for shard in range(num_shards):
        path = shard_path(output_dir, name_prefix, split_name, shard, num_shards)
        with atomic_files.atomic_path(path) as temporary, tf.io.TFRecordWriter(temporary) as writer:
            for image_path, class_id, image_id, *extras in shuffled[shard::num_shards]:
                with open(image_path, "rb") as handle:
                    image_data = handle.read()
                try:
                    image_format, height, width = read_image_header(image_data)
                except ValueError as error:
                    raise ValueError(f"{image_path}: {error}") from error
                example = dataset_utils.image_to_tfexample(image_data, image_format.encode(), height, width,
                                                           class_id, image_id, conversion, *extras)
                writer.write(example.SerializeToString())
        written_names.add(os.path.basename(path))
    for _, _, name in _existing_shards(output_dir, name_prefix, split_name):
        if name not in written_names:
            os.remove(os.path.join(output_dir, name))
    return len(shuffled)
