r"""Downloads COCO 2014 and converts it to upstream TF-Slim's Visual Wake Words TFRecords.

In the dataset folder: COCO goes to `coco_dataset/` (train2014/, val2014/,
annotations/); the outputs are `labels.txt`, `instances_visualwakewords_{train,val}2014.json`,
`train.record-?????-of-00100` and `val.record-?????-of-00010`. Offline, put
`train2014.zip`, `val2014.zip` and `annotations_trainval2014.zip` (from cocodataset.org)
into `coco_dataset/` first, or their extracted folders: they are used instead of a download.
"""
import os

from absl import logging

from datasets import dataset_utils
from datasets import download_and_convert_visualwakewords_lib as lib

COCO_DIRNAME = "coco_dataset"
SPLITS = {"train": 100, "val": 10}  # split: number of shards


def run(dataset_dir, small_object_area_threshold=0.005, foreground_class_of_interest="person",
        coco_dirname=COCO_DIRNAME, coco_urls=(lib.COCO_TRAIN_URL, lib.COCO_VALIDATION_URL, lib.COCO_ANNOTATIONS_URL),
        splits=None):
    """Builds Visual Wake Words in `dataset_dir`; returns 0.

    Args:
      dataset_dir: the dataset folder.
      small_object_area_threshold: objects covering at most this fraction of their image do not count.
      foreground_class_of_interest: the COCO category whose presence gives label 1.
      coco_dirname: COCO's subfolder of `dataset_dir`.
      coco_urls: the train images, validation images and annotations zips.
      splits: {split: number of shards}; default upstream's 100 train and 10 val shards.

    Raises:
      ValueError: an archive is missing and cannot be downloaded, or COCO's files are unreadable.
    """
    coco_dir = os.path.join(dataset_dir, coco_dirname)
    os.makedirs(coco_dir, exist_ok=True)
    lib.download_coco_dataset(coco_dir, coco_urls)
    lib.create_labels_file(foreground_class_of_interest, os.path.join(dataset_dir, dataset_utils.LABELS_FILENAME))
    sizes = {}
    for split, num_shards in (splits or SPLITS).items():
        annotations = os.path.join(dataset_dir, f"instances_visualwakewords_{split}2014.json")
        logging.info("Creating %s Visual Wake Words annotations...", split)
        lib.create_visual_wakeword_annotations(os.path.join(coco_dir, "annotations", f"instances_{split}2014.json"),
                                               annotations, small_object_area_threshold,
                                               foreground_class_of_interest)
        sizes[split] = lib.create_tf_record_for_visualwakewords_dataset(
            annotations, os.path.join(coco_dir, f"{split}2014"), os.path.join(dataset_dir, f"{split}.record"),
            num_shards)
    dataset_utils.write_split_sizes(sizes, dataset_dir)
    return 0
