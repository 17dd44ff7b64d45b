"""The Kaggle Diabetic Retinopathy Detection data, as written by download_and_convert_data.py.

Grades: 0 No DR, 1 Mild, 2 Moderate, 3 Severe, 4 Proliferative DR. Splits:
`train`, `validation` (patient-disjoint) and `test`: Kaggle's test photos, blind (label -1)
unless its solution file was converted with them; then they are written as `test_public` and
`test_private` (the public and the private leaderboard's photos), and `test` reads both.
"""
from datasets import dataset_utils

NAME_PREFIX = "diabetic"
FILE_PATTERN = dataset_utils.shard_pattern(NAME_PREFIX)
SPLITS = ("train", "validation", "test", "test_public", "test_private")
# A split read as others when it was not written itself.
PARTS = {"test": ("test_public", "test_private")}
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
                                            NUM_CLASSES, reader, PARTS)
