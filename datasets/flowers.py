"""The TensorFlow flowers photos as upstream's download_and_convert_flowers writes them.

Shards `flowers_{train,validation}_0000i-of-00005.tfrecord`: 3,320 training and 350
validation JPEG photos of 5 classes, named in labels.txt.
"""
from datasets import dataset_utils
from slim_compat import slim, tf

FILE_PATTERN = "flowers_%s_*.tfrecord"
SPLITS_TO_SIZES = {"train": 3320, "validation": 350}
NUM_CLASSES = 5
ITEMS_TO_DESCRIPTIONS = {
    "image": "A color image of varying size.",
    "label": "A single integer between 0 and 4",
    "filename": "The photo's file name.",
}

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for the `train` or `validation` split of flowers in `dataset_dir`.

    Raises:
      ValueError: `split_name` is not `train` or `validation`.
    """
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="png"),
        "image/class/label": tf.FixedLenFeature([], tf.int64, default_value=0),
        "image/filename": tf.FixedLenFeature((), tf.string, default_value=""),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image(),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
        "filename": slim.tfexample_decoder.Tensor("image/filename"),
    }
    return dataset_utils.fixed_size_split(
        split_name, dataset_dir, file_pattern or FILE_PATTERN, reader, splits_to_sizes=SPLITS_TO_SIZES,
        keys_to_features=keys_to_features, items_to_handlers=items_to_handlers, num_classes=NUM_CLASSES,
        items_to_descriptions=ITEMS_TO_DESCRIPTIONS)
