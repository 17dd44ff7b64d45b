"""Visual Wake Words from COCO 2014: filters COCO's annotations to person / not-person and writes TFRecords.

An object counts when it is of the foreground class of interest (default `person`)
and covers more than `small_object_area_threshold` of its image; an image's label
is 1 when it holds at least one such object, else 0.
"""
import collections
import contextlib
import hashlib
import json
import os

from absl import logging

from datasets import dataset_utils, downloads
from slim_compat import tf
from utils import atomic_files, progress

COCO_TRAIN_URL = "http://images.cocodataset.org/zips/train2014.zip"
COCO_VALIDATION_URL = "http://images.cocodataset.org/zips/val2014.zip"
COCO_ANNOTATIONS_URL = "http://images.cocodataset.org/annotations/annotations_trainval2014.zip"
# What each archive extracts to; an archive whose contents are there is neither fetched nor extracted.
EXTRACTED = {COCO_TRAIN_URL: "train2014", COCO_VALIDATION_URL: "val2014",
             COCO_ANNOTATIONS_URL: os.path.join("annotations", "instances_val2014.json")}


def download_coco_dataset(coco_dir, urls=(COCO_TRAIN_URL, COCO_VALIDATION_URL, COCO_ANNOTATIONS_URL)):
    """Extracts COCO 2014's images and annotations into `coco_dir`: from the zips there, else downloaded."""
    for url in urls:
        if not os.path.exists(os.path.join(coco_dir, EXTRACTED.get(url, url.split("/")[-1]))):
            downloads.download_and_uncompress_zipfile(url, coco_dir)


def create_labels_file(foreground_class_of_interest, visualwakewords_labels_file):
    """Writes the labels file: `0:background`, `1:<foreground class>`."""
    dataset_utils.write_label_file({0: "background", 1: foreground_class_of_interest},
                                   os.path.dirname(visualwakewords_labels_file),
                                   os.path.basename(visualwakewords_labels_file))


def filter_annotations(annotations, image, small_object_area_threshold, foreground_class_of_interest_id):
    """Returns {'objects': [{'area', 'bbox'}] of the image's large enough foreground objects, 'label': 0 or 1}."""
    image_area = image["height"] * image["width"]
    objects = [{"area": annotation["area"], "bbox": annotation["bbox"]} for annotation in annotations
               if int(annotation["category_id"]) == foreground_class_of_interest_id
               and annotation["area"] / image_area > small_object_area_threshold]
    return {"objects": objects, "label": 1 if objects else 0}


def create_visual_wakeword_annotations(annotations_file, visualwakewords_annotations_file,
                                       small_object_area_threshold, foreground_class_of_interest):
    """Writes the Visual Wake Words annotations (COCO's images, filtered objects and labels) of a COCO file.

    Raises:
      ValueError: the annotations file is missing or not COCO's, or names no such category.
    """
    try:
        with open(annotations_file) as handle:
            coco = json.load(handle)
        images, categories = coco["images"], coco["categories"]
        foreground = [category for category in categories if category["name"] == foreground_class_of_interest]
        by_image = collections.defaultdict(list)
        for annotation in coco["annotations"]:
            by_image[annotation["image_id"]].append(annotation)
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"{annotations_file}: not a readable COCO annotations file ({error!r})") from error
    if not foreground:
        raise ValueError(f"{annotations_file}: no category named {foreground_class_of_interest!r}")
    filtered = {image["id"]: filter_annotations(by_image[image["id"]], image, small_object_area_threshold,
                                                foreground[0]["id"]) for image in images}
    with atomic_files.open_atomically(visualwakewords_annotations_file) as handle:
        json.dump({"images": images, "annotations": filtered,
                   "categories": {category["id"]: category for category in foreground}}, handle)


def create_tf_example(image, annotations, image_dir):
    """Returns the tf.train.Example of one COCO image with its Visual Wake Words label and boxes.

    Boxes are normalised [0, 1] corners, as the Object Detection API reads them.
    """
    with open(os.path.join(image_dir, image["file_name"]), "rb") as handle:
        encoded = handle.read()
    height, width = image["height"], image["width"]
    boxes = [obj["bbox"] for obj in annotations["objects"]]

    def floats(values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))

    feature = {
        "image/height": dataset_utils.int64_feature(height),
        "image/width": dataset_utils.int64_feature(width),
        "image/filename": dataset_utils.bytes_feature(image["file_name"]),
        "image/source_id": dataset_utils.bytes_feature(str(image["id"])),
        "image/key/sha256": dataset_utils.bytes_feature(hashlib.sha256(encoded).hexdigest()),
        "image/encoded": dataset_utils.bytes_feature(encoded),
        "image/format": dataset_utils.bytes_feature("jpeg"),
        "image/class/label": dataset_utils.int64_feature(annotations["label"]),
        "image/object/bbox/xmin": floats([x / width for x, _, _, _ in boxes]),
        "image/object/bbox/xmax": floats([(x + w) / width for x, _, w, _ in boxes]),
        "image/object/bbox/ymin": floats([y / height for _, y, _, _ in boxes]),
        "image/object/bbox/ymax": floats([(y + h) / height for _, y, _, h in boxes]),
        "image/object/area": floats([obj["area"] for obj in annotations["objects"]]),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def create_tf_record_for_visualwakewords_dataset(annotations_file, image_dir, output_path, num_shards):
    """Writes `output_path-0000i-of-N` shards (image k in shard k mod N); returns the number of images.

    Raises:
      ValueError: an image file is missing.
    """
    with open(annotations_file) as handle:
        data = json.load(handle)
    annotations = {int(image_id): value for image_id, value in data["annotations"].items()}
    log = progress.ProgressLog(len(data["images"]), what=f"images of {output_path}")
    paths = [f"{output_path}-{shard:05d}-of-{num_shards:05d}" for shard in range(num_shards)]
    with contextlib.ExitStack() as stack:
        # Each shard is written under a temporary name and renamed after its writer closes.
        writers = [stack.enter_context(tf.io.TFRecordWriter(stack.enter_context(atomic_files.atomic_path(path))))
                   for path in paths]
        for index, image in enumerate(data["images"]):
            try:
                example = create_tf_example(image, annotations[image["id"]], image_dir)
            except OSError as error:
                raise ValueError(f"{os.path.join(image_dir, image['file_name'])}: {error.strerror}") from error
            writers[index % num_shards].write(example.SerializeToString())
            log.update(1)
    logging.info("Wrote %d images into %d shards of %s", len(data["images"]), num_shards, output_path)
    return len(data["images"])
