"""Maps a dataset name to the module whose `get_split` reads it."""
from datasets import diabetic, labelled_images

datasets_map = {
    "diabetic": diabetic,
    "labelled_images": labelled_images,
}


def get_dataset(name, split_name, dataset_dir, file_pattern=None, reader=None):
    """Returns the slim Dataset for `split_name` of the dataset called `name`.

    Raises:
      ValueError: `name` is not a known dataset.
    """
    if name not in datasets_map:
        raise ValueError(f"Name of dataset unknown {name}; known: {', '.join(sorted(datasets_map))}")
    return datasets_map[name].get_split(split_name, dataset_dir, file_pattern, reader)
