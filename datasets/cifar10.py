"""CIFAR-10 as upstream's download_and_convert_cifar10 writes it: `cifar10_{train,test}.tfrecord`.

50,000 training and 10,000 test 32x32 colour images (PNG) of 10 classes, named in labels.txt.
"""
from datasets import dataset_utils
from slim_compat import slim, tf

FILE_PATTERN = "cifar10_%s.tfrecord"
SPLITS_TO_SIZES = {"train": 50000, "test": 10000}
NUM_CLASSES = 10
IMAGE_SIZE = 32
ITEMS_TO_DESCRIPTIONS = {
    "image": "A [32 x 32 x 3] color image.",
    "label": "A single integer between 0 and 9",
}

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for the `train` or `test` split of CIFAR-10 in `dataset_dir`.

    Raises:
      ValueError: `split_name` is not `train` or `test`.
    """
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="png"),
        "image/class/label": tf.FixedLenFeature([], tf.int64, default_value=0),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image(shape=[IMAGE_SIZE, IMAGE_SIZE, 3]),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
    }
    return dataset_utils.fixed_size_split(
        split_name, dataset_dir, file_pattern or FILE_PATTERN, reader, splits_to_sizes=SPLITS_TO_SIZES,
        keys_to_features=keys_to_features, items_to_handlers=items_to_handlers, num_classes=NUM_CLASSES,
        items_to_descriptions=ITEMS_TO_DESCRIPTIONS)
