"""The prepared images of a split as uint8 arrays: what a device grader is fed, for calibration and comparisons."""
import dataclasses

import numpy as np

from datasets import dataset_factory, input_pipeline, tfrecord_check
from slim_compat import tf

BATCH_SIZE = 64


@dataclasses.dataclass
class SplitImages:
    """Images of one split in file order: `images` uint8 [count, size, size, 3], `labels` int64 [count]."""
    filenames: list
    labels: np.ndarray
    images: np.ndarray


def _decoder(dataset, image_size):
    """Returns fn(serialized) -> (uint8 [image_size, image_size, 3], label, filename)."""
    def decode(serialized):
        image, label, filename = input_pipeline.decode_example(dataset, serialized)
        same_size = tf.reduce_all(tf.equal(tf.shape(image)[:2], image_size))
        image = tf.cond(same_size, lambda: image, lambda: tf.cast(tf.clip_by_value(tf.round(
            tf.image.resize(image, [image_size, image_size], method="bicubic")), 0, 255), tf.uint8))
        return tf.reshape(image, [image_size, image_size, 3]), label, filename

    return decode


def read_split(dataset_name, split_name, dataset_dir, image_size, limit=None):
    """Decodes the images of a split with the dataset's own decoder (as eval does), in file order.

    Images of another size than `image_size` are resized (bicubic, rounded to uint8).

    Args:
      dataset_name: a key of dataset_factory.datasets_map.
      split_name: e.g. "train" or "validation".
      dataset_dir: the TFRecords folder.
      image_size: the side of the images returned.
      limit: read at most this many images; None reads the whole split.

    Raises:
      ValueError: unknown dataset or split, no TFRecords for it, or a corrupt shard (naming it).
    """
    dataset = dataset_factory.get_dataset(dataset_name, split_name, dataset_dir)
    shards = input_pipeline.list_shards(dataset)
    filenames, labels, images = [], [], []
    with tf.Graph().as_default():
        records = tf.data.TFRecordDataset(shards)
        if limit is not None:
            records = records.take(limit)
        next_batch = tf.data.make_one_shot_iterator(
            records.map(_decoder(dataset, image_size)).batch(BATCH_SIZE)).get_next()
        with tf.Session() as session:
            while True:
                try:
                    batch_images, batch_labels, batch_names = session.run(next_batch)
                except tf.errors.OutOfRangeError:
                    break
                except tf.errors.DataLossError as error:
                    raise ValueError(tfrecord_check.damage_message(shards, error)) from error
                images.append(batch_images)
                labels.append(batch_labels)
                filenames.extend(name.decode("utf-8") for name in batch_names)
    return SplitImages(filenames, np.concatenate(labels) if labels else np.zeros([0], np.int64),
                       np.concatenate(images) if images else np.zeros([0, image_size, image_size, 3], np.uint8))
