"""TF-Example features, label files and split-size files shared by every dataset.

The formats are upstream TF-Slim's: `image/encoded`, `image/format`,
`image/class/label`, `image/height`, `image/width` in each example and `id:name`
lines in `labels.txt`. We add the optional `image/filename` (the image id, e.g.
`10_left`), `image/conversion` (the preprocessing settings the image was made
with, as JSON, when a conversion made it) and `split_sizes.txt` (`split:count`
lines written after the TFRecords, so `num_samples` is what was actually written).
Fundus conversions add, where the dataset has them, the labels beyond the DR grade
(EXTRA_FEATURES: `image/patient`, `image/dme`, `image/gradable`).
"""
import glob
import os

from datasets import tfrecord_check
from datasets.tfrecord_check import CONVERSION_FEATURE
from slim_compat import slim, tf
from utils import atomic_files

LABELS_FILENAME = "labels.txt"
SPLIT_SIZES_FILENAME = "split_sizes.txt"
UNLABELLED = -1
# Labels of a fundus photo beyond its DR grade, written where the dataset has them:
# feature key -> (decoder item, default when absent). `image/patient`: the patient (both eyes
# share it); `image/dme`: diabetic macular oedema as the dataset grades it (0 none, above 0 some);
# `image/gradable`: the dataset's graders' verdict (1 gradable, 0 ungradable).
PATIENT_FEATURE = "image/patient"
DME_FEATURE = "image/dme"
GRADABLE_FEATURE = "image/gradable"
EXTRA_FEATURES = {PATIENT_FEATURE: ("patient", ""), DME_FEATURE: ("dme", UNLABELLED),
                  GRADABLE_FEATURE: ("gradable", UNLABELLED)}


def int64_feature(values):
    """Returns a TF-Feature of int64s."""
    if not isinstance(values, (tuple, list)):
        values = [values]
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
    """Returns a TF-Feature of bytes (str is UTF-8 encoded)."""
    if isinstance(values, str):
        values = values.encode("utf-8")
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values]))


def image_to_tfexample(image_data, image_format, height, width, class_id, filename=None, conversion=None,
                       extras=None):
    """Returns a tf.train.Example in upstream's layout, plus `image/filename`, `image/conversion` and `extras`
    ({feature key: int or str}, e.g. EXTRA_FEATURES) when given."""
    feature = {
        "image/encoded": bytes_feature(image_data),
        "image/format": bytes_feature(image_format),
        "image/class/label": int64_feature(class_id),
        "image/height": int64_feature(height),
        "image/width": int64_feature(width),
    }
    if filename is not None:
        feature["image/filename"] = bytes_feature(filename)
    if conversion is not None:
        feature[CONVERSION_FEATURE] = bytes_feature(conversion)
    for key, value in (extras or {}).items():
        feature[key] = int64_feature(value) if isinstance(value, int) else bytes_feature(value)
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _write_text_atomically(path, text):
    with atomic_files.open_atomically(path) as handle:
        handle.write(text)


def _read_colon_file(path):
    with open(path) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return dict(line.split(":", 1) for line in lines)


def write_label_file(labels_to_class_names, dataset_dir, filename=LABELS_FILENAME):
    """Writes `id:name` lines, one per class."""
    text = "".join(f"{label}:{labels_to_class_names[label]}\n" for label in sorted(labels_to_class_names))
    _write_text_atomically(os.path.join(dataset_dir, filename), text)


def has_labels(dataset_dir, filename=LABELS_FILENAME):
    """Returns whether `dataset_dir` holds a label file."""
    return tf.gfile.Exists(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
    """Returns {class id: class name} from `dataset_dir/labels.txt`."""
    return {int(label): name for label, name in _read_colon_file(os.path.join(dataset_dir, filename)).items()}


def write_split_sizes(split_sizes, dataset_dir, filename=SPLIT_SIZES_FILENAME):
    """Records how many examples each split's TFRecords hold, merging with what is there."""
    path = os.path.join(dataset_dir, filename)
    merged = read_split_sizes(dataset_dir, filename) if os.path.exists(path) else {}
    merged.update(split_sizes)
    _write_text_atomically(path, "".join(f"{split}:{merged[split]}\n" for split in sorted(merged)))


def read_split_sizes(dataset_dir, filename=SPLIT_SIZES_FILENAME):
    """Returns {split name: number of examples} from `dataset_dir/split_sizes.txt`."""
    return {split: int(count) for split, count in _read_colon_file(os.path.join(dataset_dir, filename)).items()}


def constant_num_classes(count):
    """Returns a dataset module's `num_classes(dataset_dir=None)` for a fixed class count (no file is read)."""

    def num_classes(dataset_dir=None):
        del dataset_dir
        return count

    num_classes.__doc__ = f"Returns {count}: the classes are fixed, so `dataset_dir` is not read."
    return num_classes


def bounding_box_features(prefix="image/object/bbox/"):
    """Returns the variable-length float features `{prefix}xmin|ymin|xmax|ymax` of an example's boxes."""
    return {prefix + corner: tf.VarLenFeature(dtype=tf.float32) for corner in ("xmin", "ymin", "xmax", "ymax")}


def check_split_name(split_name, split_names):
    """Raises ValueError unless `split_name` is one of `split_names`."""
    if split_name not in split_names:
        raise ValueError(f"split name {split_name!r} was not recognised; use one of {', '.join(split_names)}")


def fixed_size_split(split_name, dataset_dir, file_pattern, reader, *, splits_to_sizes, keys_to_features,
                     items_to_handlers, num_classes, items_to_descriptions, labels_to_names=None):
    """Returns a slim Dataset for one split of a dataset whose split sizes are known (upstream's datasets).

    `num_samples` is the size in `split_sizes.txt` when the conversion recorded one (e.g. from a partial
    archive), else `splits_to_sizes[split_name]`. `labels_to_names` defaults to `labels.txt` when present.

    Raises:
      ValueError: `split_name` is not a key of `splits_to_sizes`.
    """
    check_split_name(split_name, tuple(splits_to_sizes))
    recorded = read_split_sizes(dataset_dir) if os.path.exists(
        os.path.join(dataset_dir, SPLIT_SIZES_FILENAME)) else {}
    if labels_to_names is None and has_labels(dataset_dir):
        labels_to_names = read_label_file(dataset_dir)
    return slim.dataset.Dataset(
        data_sources=os.path.join(dataset_dir, file_pattern % split_name),
        reader=reader or tf.TFRecordReader,
        decoder=slim.tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers),
        num_samples=recorded.get(split_name, splits_to_sizes[split_name]),
        items_to_descriptions=items_to_descriptions,
        num_classes=num_classes,
        labels_to_names=labels_to_names,
    )


def shard_pattern(name_prefix):
    """Returns the file pattern (one `%s` for the split) of tfrecord_writer's shards of `name_prefix`.

    The shard numbers are spelled out, so split `test` does not also match the shards of `test_private`.
    """
    return f"{name_prefix}_%s_?????-of-?????.tfrecord"


def _split_names(split_name, split_sizes, parts):
    """The written splits that make `split_name`: itself when written, else those of its `parts` that are."""
    if split_name not in split_sizes and split_name in (parts or {}):
        written = [part for part in parts[split_name] if part in split_sizes]
        if written:
            return written
    return [split_name]


def get_tfrecord_split(split_name, dataset_dir, file_pattern, num_classes, reader=None, parts=None):
    """Returns a slim Dataset over `dataset_dir/file_pattern % split_name`.

    Args:
      split_name: e.g. `train`, `validation` or `test`.
      dataset_dir: folder with the TFRecords, `labels.txt` and `split_sizes.txt`.
      file_pattern: glob with one `%s` for the split name.
      num_classes: number of classes.
      reader: TF reader class, default `tf.TFRecordReader`.
      parts: {split name: (split names)}: a split that was not written itself reads those of its parts
        that were (e.g. diabetic's `test` from `test_public` and `test_private`).

    Returns:
      A `slim.dataset.Dataset` whose items are `image`, `label`, `filename` and the EXTRA_FEATURES' items
      (their defaults where absent), and whose `conversion_settings` are the preprocessing settings its
      images were converted with (None when not recorded).

    Raises:
      ValueError: the split has no TFRecords or is missing from `split_sizes.txt`, a shard is
        truncated or corrupt, the shards mix settings, or they hold another number of examples.
    """
    sizes_path = os.path.join(dataset_dir, SPLIT_SIZES_FILENAME)
    split_sizes = read_split_sizes(dataset_dir) if os.path.exists(sizes_path) else {}
    names = _split_names(split_name, split_sizes, parts)
    patterns = [os.path.join(dataset_dir, file_pattern % name) for name in names]
    shards = [sorted(glob.glob(pattern)) for pattern in patterns]
    for name, found in zip(names, shards):
        if not found:
            raise ValueError(f"{dataset_dir}: no TFRecords match {file_pattern % name}; "
                             "run download_and_convert_data.py first")
        if name not in split_sizes:
            raise ValueError(f"{sizes_path}: no size for split {name!r}")
    num_samples = sum(split_sizes[name] for name in names)
    settings = tfrecord_check.check_shards([path for found in shards for path in found], num_samples, sizes_path)
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="jpg"),
        "image/class/label": tf.FixedLenFeature((), tf.int64, default_value=UNLABELLED),
        "image/filename": tf.FixedLenFeature((), tf.string, default_value=""),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image(channels=3),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
        "filename": slim.tfexample_decoder.Tensor("image/filename"),
    }
    for key, (item, default) in EXTRA_FEATURES.items():
        keys_to_features[key] = tf.FixedLenFeature((), tf.string if isinstance(default, str) else tf.int64,
                                                   default_value=default)
        items_to_handlers[item] = slim.tfexample_decoder.Tensor(key)
    return slim.dataset.Dataset(
        data_sources=patterns[0] if len(patterns) == 1 else patterns,
        reader=reader or tf.TFRecordReader,
        decoder=slim.tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers),
        num_samples=num_samples,
        items_to_descriptions={
            "image": "A colour image of varying size.",
            "label": f"A class id between 0 and {num_classes - 1} ({UNLABELLED} when unlabelled).",
            "filename": "The image id, e.g. 10_left.",
            "patient": "The patient's id; empty when the dataset has none.",
            "dme": f"Diabetic macular oedema as the dataset grades it; {UNLABELLED} when it has none.",
            "gradable": f"The dataset's graders' verdict, 1 gradable, 0 not; {UNLABELLED} when they gave none.",
        },
        num_classes=num_classes,
        labels_to_names=read_label_file(dataset_dir) if has_labels(dataset_dir) else None,
        conversion_settings=settings,
    )
