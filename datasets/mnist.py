"""MNIST as upstream's download_and_convert_mnist writes it: `mnist_{train,test}.tfrecord`.

60,000 training and 10,000 test 28x28 grayscale digits (PNG, one channel) of 10 classes.
"""
from datasets import dataset_utils
from slim_compat import slim, tf

FILE_PATTERN = "mnist_%s.tfrecord"
SPLITS_TO_SIZES = {"train": 60000, "test": 10000}
NUM_CLASSES = 10
IMAGE_SIZE = 28
ITEMS_TO_DESCRIPTIONS = {
    "image": "A [28 x 28 x 1] grayscale image.",
    "label": "A single integer between 0 and 9",
}

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for the `train` or `test` split of MNIST in `dataset_dir`.

    Raises:
      ValueError: `split_name` is not `train` or `test`.
    """
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="raw"),
        "image/class/label": tf.FixedLenFeature([1], tf.int64, default_value=[0]),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image(shape=[IMAGE_SIZE, IMAGE_SIZE, 1], channels=1),
        "label": slim.tfexample_decoder.Tensor("image/class/label", shape=[]),
    }
    return dataset_utils.fixed_size_split(
        split_name, dataset_dir, file_pattern or FILE_PATTERN, reader, splits_to_sizes=SPLITS_TO_SIZES,
        keys_to_features=keys_to_features, items_to_handlers=items_to_handlers, num_classes=NUM_CLASSES,
        items_to_descriptions=ITEMS_TO_DESCRIPTIONS)
