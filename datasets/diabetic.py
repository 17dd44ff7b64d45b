"""The Kaggle Diabetic Retinopathy Detection data, as written by download_and_convert_data.py.

Grades: 0 No DR, 1 Mild, 2 Moderate, 3 Severe, 4 Proliferative DR. Splits:
`train`, `validation` (patient-disjoint) and `test` (Kaggle's blind test set,
label -1).
"""
from datasets import dataset_utils

FILE_PATTERN = "diabetic_%s_*.tfrecord"
SPLITS = ("train", "validation", "test")
NUM_CLASSES = 5
# The labels are ordinal DR grades (referable from grade 2): eval adds QWK, the referable-DR and
# screening metrics, and --fit_grading / predict --combine_eyes apply (dataset_factory.has_dr_grades).
DR_GRADES = True

num_classes = dataset_utils.constant_num_classes(NUM_CLASSES)


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns a slim Dataset for one split of the diabetic TFRecords in `dataset_dir`.

    Raises:
      ValueError: unknown split, or no TFRecords / size for it in `dataset_dir`.
    """
    dataset_utils.check_split_name(split_name, SPLITS)
    return dataset_utils.get_tfrecord_split(split_name, dataset_dir, file_pattern or FILE_PATTERN,
                                            NUM_CLASSES, reader)
