"""Maps a dataset name to the module whose `get_split` reads it."""
from datasets import cifar10, diabetic, flowers, imagenet, labelled_images, mnist, public_dr, visualwakewords

datasets_map = {
    "cifar10": cifar10,
    "diabetic": diabetic,
    "flowers": flowers,
    "imagenet": imagenet,
    "labelled_images": labelled_images,
    "mnist": mnist,
    "visualwakewords": visualwakewords,
    **{dataset.name: dataset for dataset in public_dr.DATASETS},
}


def _dataset_module(name):
    if name not in datasets_map:
        raise ValueError(f"Name of dataset unknown {name}; known: {', '.join(sorted(datasets_map))}")
    return datasets_map[name]


def has_dr_grades(name):
    """Returns whether the labels of the dataset called `name` are diabetic-retinopathy grades.

    The dataset module says so with `DR_GRADES = True` (`diabetic` and the public DR datasets, all ICDR
    grades 0-4); every other dataset holds plain classes, for which the DR metrics and grading are meaningless.

    Raises:
      ValueError: `name` is not a known dataset.
    """
    return getattr(_dataset_module(name), "DR_GRADES", False)


def same_classes(name, other):
    """Returns whether the datasets called `name` and `other` mean the same by each label: one dataset, or two
    of DR grades (has_dr_grades: ICDR grades 0-4), e.g. a model trained on `diabetic` evaluated on `messidor2`.

    A dataset of other classes (a binary referable label, grades on another scale) means something else.
    """
    if name == other:
        return True
    return name in datasets_map and other in datasets_map and has_dr_grades(name) and has_dr_grades(other)


def get_dataset(name, split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns the slim Dataset for `split_name` of the dataset called `name`.

    Its attribute `dr_grades` is `has_dr_grades(name)`.

    Raises:
      ValueError: `name` is not a known dataset.
    """
    dataset = _dataset_module(name).get_split(split_name, dataset_dir, file_pattern, reader)
    dataset.dr_grades = has_dr_grades(name)
    return dataset


def get_num_classes(name, dataset_dir=None):
    """Returns the number of classes of the dataset called `name`, without reading any TFRecord.

    Args:
      name: a key of `datasets_map`.
      dataset_dir: the TFRecords folder; needed only by datasets whose classes its labels.txt lists.

    Raises:
      ValueError: `name` is not a known dataset, or its classes cannot be found.
    """
    return _dataset_module(name).num_classes(dataset_dir)
