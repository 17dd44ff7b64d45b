"""The public DR datasets besides Kaggle's, as download_and_convert_data.py writes them.

Each holds the same ICDR grades as `diabetic` (0 No DR, 1 Mild, 2 Moderate, 3 Severe,
4 Proliferative DR), so a model trained on one is evaluated on another (DR_GRADES), and the
same TFRecord schema, with the labels each has beyond the grade (dataset_utils.EXTRA_FEATURES).
Splits, the dataset's own:

  aptos2019: `train` (train.csv's photos; APTOS published no labels for its test set) and `test`
             (its blind test photos, label -1);
  messidor2: `test` (every graded photo; Messidor-2 has no split), with `image/dme`,
             `image/gradable` and, from messidor-2.csv's exams, `image/patient`;
  idrid:     `train` and `test` (the Disease Grading part's sets), with `image/dme` (the risk of
             macular edema, 0-2);
  ddr:       `train`, `validation` (DDR's valid) and `test`, with `image/gradable`.

A photo its dataset's graders called ungradable (Messidor-2's adjudicated_gradable 0, DDR's
grade 5) has no grade: it is in `{split}_ungradable` (label -1, `image/gradable` 0), which
predict reads and eval refuses.
"""
from datasets import dataset_utils

NUM_CLASSES = 5
UNGRADABLE_SUFFIX = "_ungradable"


def with_ungradable_splits(splits):
    """`splits` followed by the `{split}_ungradable` of each."""
    return tuple(splits) + tuple(split + UNGRADABLE_SUFFIX for split in splits)


class PublicDataset:
    """One public DR dataset's TFRecords: what dataset_factory asks of a dataset module."""

    DR_GRADES = True

    def __init__(self, name, splits):
        self.name = name
        self.splits = tuple(splits)
        self.file_pattern = dataset_utils.shard_pattern(name)

    def num_classes(self, dataset_dir=None):
        """Returns 5: the grades are fixed, so `dataset_dir` is not read."""
        del dataset_dir
        return NUM_CLASSES

    def get_split(self, split_name, dataset_dir, file_pattern=None, reader=None):
        """Returns a slim Dataset for one split of the dataset's TFRecords in `dataset_dir`.

        Raises:
          ValueError: unknown split, or no TFRecords / size for it in `dataset_dir`.
        """
        dataset_utils.check_split_name(split_name, self.splits)
        return dataset_utils.get_tfrecord_split(split_name, dataset_dir, file_pattern or self.file_pattern,
                                                NUM_CLASSES, reader)


APTOS2019 = PublicDataset("aptos2019", ("train", "test"))
MESSIDOR2 = PublicDataset("messidor2", with_ungradable_splits(("test",)))
IDRID = PublicDataset("idrid", ("train", "test"))
DDR = PublicDataset("ddr", with_ungradable_splits(("train", "validation", "test")))
DATASETS = (APTOS2019, MESSIDOR2, IDRID, DDR)
