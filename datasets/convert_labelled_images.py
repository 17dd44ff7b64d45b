"""Converts a folder of images listed in `labels.csv` (`image,label`) into train/validation TFRecords.

Input, in `dataset_dir`: `labels.csv` whose `image` column holds paths relative to `dataset_dir`
(JPEG or PNG) and whose `label` column holds class names, e.g. what `dicom_to_png.py --label_tag`
writes. Output, in `dataset_dir/tfrecords`: `labelled_images_{split}_*.tfrecord`, `labels.txt`
(class ids follow the sorted class names) and `split_sizes.txt`.
"""
import csv
import os
import random
import re

from absl import logging

from datasets import dataset_utils, label_rows, tfrecord_writer

LABELS_CSV = "labels.csv"
TFRECORDS_DIR = "tfrecords"
NAME_PREFIX = "labelled_images"
DEFAULT_VALIDATION_FRACTION = 0.1
# dicom_to_png.py names the frames of one file `x_frame0001.png`, ...; they stay on one side of the split.
_FRAME_SUFFIX = re.compile(r"_frame\d{4}(?=\.[^.]+$)")


def read_labelled_images(dataset_dir):
    """Reads `dataset_dir/labels.csv`; rows of a missing image or of one listed with two labels are left out.

    Each is logged in one line; an image listed twice with one label is kept once (datasets.label_rows).

    Returns:
      ([(image path relative to `dataset_dir`, class name)] of the existing images, number left out).

    Raises:
      ValueError: no labels.csv, or it lacks the `image` and `label` columns.
    """
    path = os.path.join(dataset_dir, LABELS_CSV)
    if not os.path.isfile(path):
        raise ValueError(f"{dataset_dir}: no {LABELS_CSV} (columns image,label)")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"image", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the header 'image,label'")
        rows = [label_rows.Row(reader.line_num, row["image"], row["label"]) for row in reader]
    kept, repeats = label_rows.without_repeats(rows)
    for repeat in repeats:
        log = logging.error if repeat.conflicting else logging.warning
        log("%s: %s", repeat.where(path), repeat.problem("label"))
    present = []
    for row in kept:
        if os.path.isfile(os.path.join(dataset_dir, row.image)):
            present.append((row.image, row.label))
        else:
            logging.error("%s line %d: image %s does not exist", path, row.line, row.image)
    return present, len(kept) - len(present) + sum(repeat.conflicting for repeat in repeats)


def split_by_source(images, validation_fraction, seed=0):
    """Returns (train, validation) lists, holding out about `validation_fraction` of the images.

    Frames of one source file are kept together; the split is a seeded shuffle of source files.
    """
    sources = sorted({_FRAME_SUFFIX.sub("", image) for image, _ in images})
    random.Random(seed).shuffle(sources)
    held_out = set(sources[:round(validation_fraction * len(sources))])
    train = [row for row in images if _FRAME_SUFFIX.sub("", row[0]) not in held_out]
    validation = [row for row in images if _FRAME_SUFFIX.sub("", row[0]) in held_out]
    return train, validation


def run(dataset_dir, validation_fraction=DEFAULT_VALIDATION_FRACTION, num_shards=None, seed=0):
    """Converts `dataset_dir`; see the module docstring.

    Returns:
      The exit status: 1 when a listed image was missing or listed with two labels, else 0.

    Raises:
      ValueError: no usable labels.csv, no images, a fraction outside [0, 1), or an image that is not
        JPEG/PNG (the message names the file).
    """
    if not 0 <= validation_fraction < 1:
        raise ValueError(f"validation fraction {validation_fraction} must be in [0, 1)")
    images, missing = read_labelled_images(dataset_dir)
    if not images:
        raise ValueError(f"{os.path.join(dataset_dir, LABELS_CSV)}: no existing images listed")
    class_names = sorted({label for _, label in images})
    class_ids = {name: class_id for class_id, name in enumerate(class_names)}
    tfrecords_dir = os.path.join(dataset_dir, TFRECORDS_DIR)
    split_sizes = {}
    for split_name, rows in zip(("train", "validation"), split_by_source(images, validation_fraction, seed)):
        examples = [(os.path.join(dataset_dir, image), class_ids[label], image) for image, label in rows]
        split_sizes[split_name] = tfrecord_writer.write_sharded_tfrecords(
            examples, tfrecords_dir, NAME_PREFIX, split_name, num_shards, seed)
    dataset_utils.write_label_file(dict(enumerate(class_names)), tfrecords_dir)
    dataset_utils.write_split_sizes(split_sizes, tfrecords_dir)
    logging.info("%d train and %d validation images of %d classes written to %s",
                 split_sizes["train"], split_sizes["validation"], len(class_names), tfrecords_dir)
    return 1 if missing else 0
