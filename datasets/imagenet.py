"""ImageNet ILSVRC-2012 in the TFRecord layout of upstream's `build_imagenet_data.py`.

Shards `train-?????-of-01024` and `validation-?????-of-00128` (pattern `%s-*`),
1,281,167 and 50,000 images, 1001 classes: 0 is the background class and 1-1000
the ILSVRC synsets in sorted order (train 1000-class networks such as VGG and
ResNet V1 with `--labels_offset=1`). This module does not convert ImageNet.

Class names come from `labels.txt` in the dataset folder. Without one, and with
`LOAD_READABLE_NAMES` set, `get_split` fetches upstream's synset lists once and
writes `labels.txt` there (as upstream does); when that fails (no network, or a
read-only folder) it logs one warning and the dataset has no class names
(`labels_to_names` is None): nothing else needs them. Nothing is fetched at
import, nor for the class count (`num_classes`).
"""
import urllib.error
import urllib.request

from absl import logging

from datasets import dataset_utils
from slim_compat import slim, tf

FILE_PATTERN = "%s-*"
SPLITS_TO_SIZES = {"train": 1281167, "validation": 50000}
NUM_CLASSES = 1001
ITEMS_TO_DESCRIPTIONS = {
    "image": "A color image of varying height and width.",
    "label": "The label id of the image, integer between 0 (background) and 1000.",
    "label_text": "The text of the label.",
    "object/bbox": "A list of bounding boxes.",
    "object/label": "A list of labels, one per each object.",
    "filename": "The image's file name.",
}
# When False, get_split takes class names only from labels.txt and never goes online.
LOAD_READABLE_NAMES = True
SYNSETS_URL = ("https://raw.githubusercontent.com/tensorflow/models/master/research/inception/inception/data/"
               "imagenet_lsvrc_2015_synsets.txt")
SYNSET_TO_HUMAN_URL = ("https://raw.githubusercontent.com/tensorflow/models/master/research/inception/inception/"
                       "data/imagenet_metadata.txt")
FETCH_TIMEOUT_SECONDS = 30

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def _fetch_lines(url):
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return response.read().decode("utf-8").splitlines()


def readable_names(synsets, synset_to_human_lines):
    """Returns {label: name}: 0 `background`, then each of `synsets` (in order) named by its tab-separated
    `synset<TAB>name` line of `synset_to_human_lines`."""
    synset_to_human = dict(line.strip().split("\t", 1) for line in synset_to_human_lines if line.strip())
    names = {0: "background"}
    names.update({label: synset_to_human[synset] for label, synset in enumerate(synsets, start=1)})
    return names


def create_readable_names_for_imagenet_labels():
    """Returns {label: human-readable name} for the 1001 labels, fetched from upstream's synset lists.

    Raises:
      OSError (urllib.error.URLError): the lists cannot be fetched.
    """
    synsets = [line.strip() for line in _fetch_lines(SYNSETS_URL) if line.strip()]
    return readable_names(synsets, _fetch_lines(SYNSET_TO_HUMAN_URL))


def _labels_to_names(dataset_dir):
    if dataset_utils.has_labels(dataset_dir):
        return dataset_utils.read_label_file(dataset_dir)
    if not LOAD_READABLE_NAMES:
        return None
    try:
        names = create_readable_names_for_imagenet_labels()
        dataset_utils.write_label_file(names, dataset_dir)
    except (OSError, ValueError) as error:
        logging.warning("imagenet: no %s in %s and the class names could not be fetched (%s); "
                        "using class ids only", dataset_utils.LABELS_FILENAME, dataset_dir or ".", error)
        return None
    return names


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for the `train` or `validation` split of ImageNet TFRecords in `dataset_dir`.

    Raises:
      ValueError: `split_name` is not `train` or `validation`.
    """
    dataset_utils.check_split_name(split_name, tuple(SPLITS_TO_SIZES))
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="jpeg"),
        "image/class/label": tf.FixedLenFeature([], dtype=tf.int64, default_value=-1),
        "image/class/text": tf.FixedLenFeature([], dtype=tf.string, default_value=""),
        "image/filename": tf.FixedLenFeature((), tf.string, default_value=""),
        **dataset_utils.bounding_box_features(),
        "image/object/class/label": tf.VarLenFeature(dtype=tf.int64),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image("image/encoded", "image/format"),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
        "label_text": slim.tfexample_decoder.Tensor("image/class/text"),
        "filename": slim.tfexample_decoder.Tensor("image/filename"),
        "object/bbox": slim.tfexample_decoder.BoundingBox(["ymin", "xmin", "ymax", "xmax"], "image/object/bbox/"),
        "object/label": slim.tfexample_decoder.Tensor("image/object/class/label"),
    }
    return dataset_utils.fixed_size_split(
        split_name, dataset_dir, file_pattern or FILE_PATTERN, reader, splits_to_sizes=SPLITS_TO_SIZES,
        keys_to_features=keys_to_features, items_to_handlers=items_to_handlers, num_classes=NUM_CLASSES,
        items_to_descriptions=ITEMS_TO_DESCRIPTIONS, labels_to_names=_labels_to_names(dataset_dir))
