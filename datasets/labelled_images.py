"""Any folder of labelled images (e.g. dicom_to_png.py's PNGs and labels.csv), as written by
`download_and_convert_data.py --dataset_name=labelled_images`.

Splits `train` and `validation`; the classes are whatever labels.txt lists.
"""
from datasets import dataset_utils

FILE_PATTERN = "labelled_images_%s_*.tfrecord"
SPLITS = ("train", "validation")


def num_classes(dataset_dir):
    """Returns the number of classes that `dataset_dir/labels.txt` lists.

    Raises:
      ValueError: no `dataset_dir`, or no labels.txt in it.
    """
    if not dataset_dir:
        raise ValueError("labelled_images: its classes are listed in the labels.txt of its TFRecords folder; "
                         "give that folder with --dataset_dir")
    if not dataset_utils.has_labels(dataset_dir):
        raise ValueError(f"{dataset_dir}: no {dataset_utils.LABELS_FILENAME}; "
                         "run download_and_convert_data.py --dataset_name=labelled_images first")
    return len(dataset_utils.read_label_file(dataset_dir))


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for one split of the labelled-image TFRecords in `dataset_dir`.

    Raises:
      ValueError: unknown split, no labels.txt, or no TFRecords / size for the split.
    """
    dataset_utils.check_split_name(split_name, SPLITS)
    return dataset_utils.get_tfrecord_split(split_name, dataset_dir, file_pattern or FILE_PATTERN,
                                            num_classes(dataset_dir), reader)
