"""Visual Wake Words (person / not person, derived from COCO 2014) as upstream's
download_and_convert_visualwakewords writes it.

Shards `train.record-?????-of-00100` and `val.record-?????-of-00010`: 82,783 and
40,504 images; label 1 when the image holds the foreground class of interest (by
default `person`) covering more than the small-object area threshold, else 0.
"""
from datasets import dataset_utils
from slim_compat import slim, tf

FILE_PATTERN = "%s.record-*"
SPLITS_TO_SIZES = {"train": 82783, "val": 40504}
NUM_CLASSES = 2
LABELS_FILENAME = dataset_utils.LABELS_FILENAME
ITEMS_TO_DESCRIPTIONS = {
    "image": "A color image of varying height and width.",
    "label": "The label id of the image, an integer in {0, 1}",
    "object/bbox": "A list of bounding boxes.",
    "filename": "The COCO image's file name.",
}

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for the `train` or `val` split of Visual Wake Words in `dataset_dir`.

    Raises:
      ValueError: `split_name` is not `train` or `val`.
    """
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="jpeg"),
        "image/class/label": tf.FixedLenFeature([], dtype=tf.int64, default_value=-1),
        "image/filename": tf.FixedLenFeature((), tf.string, default_value=""),
        **dataset_utils.bounding_box_features(),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image("image/encoded", "image/format"),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
        "filename": slim.tfexample_decoder.Tensor("image/filename"),
        "object/bbox": slim.tfexample_decoder.BoundingBox(["ymin", "xmin", "ymax", "xmax"], "image/object/bbox/"),
    }
    return dataset_utils.fixed_size_split(
        split_name, dataset_dir, file_pattern or FILE_PATTERN, reader, splits_to_sizes=SPLITS_TO_SIZES,
        keys_to_features=keys_to_features, items_to_handlers=items_to_handlers, num_classes=NUM_CLASSES,
        items_to_descriptions=ITEMS_TO_DESCRIPTIONS)
