"""The settings that define a trained model, recorded next to its checkpoints.

`train_image_classifier.py` writes `TRAIN/run_settings.json` when it starts. The
evaluation, prediction and export scripts read the file of the folder their
checkpoint is in and take its values as their defaults, so a model is evaluated
and served with the preprocessing, image size, classes and weights it was
trained with, without repeating the training flags.

The file is one JSON object, one key per setting; readers ignore keys they do
not know. Keys written by training:

  MODEL_KEYS    model_name, preprocessing_name (the effective name), train_image_size
                (the effective size), dataset_name, num_classes, labels_offset,
                batch_norm_decay, freeze_batch_norm, moving_average_decay, regression_loss
                (None, or the loss of the grade regression head the network has): they define
                the model, and a restart of the same training folder with another value
                is refused (`check_unchanged`).
  label_names   the class names of labels 0..num_classes-1 (after the offset).
  conversion    how the training images were prepared from the raw photographs, a dict
                with CONVERSION_IMAGE_SIZE and CONVERSION_CROP_THRESHOLD: the settings of
                the TFRecords folder's conversion.json, when the conversion wrote one.

  class_prior   (grading.class_prior) the class frequencies of the training split and of its
                batches, when they differ, e.g. with --balanced_sampling; eval, predict and export
                then grade under the split's frequencies. None otherwise.
  format_version  the version of this form (utils.model_description.FORMAT_VERSION); files
                written before it existed have the same keys.

Fitted after training: `grading` (grading.fitting: QWK thresholds, two-eye fusion and the
referable operating points, recorded by `eval_image_classifier.py --fit_grading`) and
`frequency_cuts` (grading.class_prior; training clears them).

The file is the JSON form of a utils.model_description.ModelDescription, which is how the
code reads it; this module only reads and writes the file. `record` merges into what the file
holds, so values fitted after training are stored with `record(directory, {key: value})`.
Every write is atomic: readers never see a half-written file.
"""
import json
import os

from utils import atomic_files

SETTINGS_FILE = "run_settings.json"
REGRESSION_LOSS = "regression_loss"
MODEL_KEYS = ("model_name", "preprocessing_name", "train_image_size", "dataset_name", "num_classes",
              "labels_offset", "batch_norm_decay", "freeze_batch_norm", "moving_average_decay", REGRESSION_LOSS)
LABEL_NAMES = "label_names"
CONVERSION = "conversion"
CONVERSION_IMAGE_SIZE = "image_size"
CONVERSION_CROP_THRESHOLD = "crop_threshold"
CONVERSION_GRAHAM = "graham"
CONVERSION_CROP_MODE = "crop_mode"
CLASS_PRIOR = "class_prior"
GRADING = "grading"
FREQUENCY_CUTS = "frequency_cuts"
OPERATING_POINTS = "operating_points"
FORMAT_VERSION = "format_version"
# What a conversion recorded before crop modes existed made: the book's crop.
LEGACY_CROP_MODE = "book"


def settings_path(directory):
    """Returns the path of the settings file of `directory`."""
    return os.path.join(directory, SETTINGS_FILE)


def read(directory):
    """Returns the settings recorded in `directory` as a dict; {} when it has no settings file.

    Raises:
      ValueError: the file is not a JSON object.
    """
    path = settings_path(directory)
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable settings file ({error})") from error
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: unreadable settings file (not a JSON object)")
    return settings


def checkpoint_directory(checkpoint_path):
    """Returns the folder of `checkpoint_path`: itself when it is a folder, else the folder it is in."""
    if os.path.isdir(checkpoint_path):
        return checkpoint_path
    return os.path.dirname(checkpoint_path) or "."


def for_checkpoint(checkpoint_path):
    """Returns the settings of the training run that wrote `checkpoint_path` (a file or folder); {} if unknown."""
    return read(checkpoint_directory(checkpoint_path))


def record(directory, settings):
    """Merges `settings` into `directory`'s settings file (created if needed), atomically.

    Keys of `settings` replace those recorded; other recorded keys are kept.

    Returns:
      The merged settings.
    """
    merged = {**read(directory), **settings}
    with atomic_files.open_atomically(settings_path(directory), "w", encoding="utf-8") as handle:
        json.dump(merged, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return merged


def differences(recorded, current, keys=MODEL_KEYS):
    """Returns [(key, recorded value, current value)] for the `keys` both have with different values."""
    return [(key, recorded[key], current[key]) for key in keys
            if key in recorded and key in current and recorded[key] != current[key]]


def check_unchanged(recorded, current, where, keys=MODEL_KEYS):
    """Raises ValueError naming both values of the first of `keys` that `current` changes.

    Args:
      recorded, current: settings dicts; keys missing from either are not compared.
      where: the settings file or folder, for the message.
    """
    for key, old, new in differences(recorded, current, keys):
        raise ValueError(f"{where}: {key} was {old!r} when this training run started, now {new!r}; "
                         "train into a new --train_dir, or keep the run's settings")


def describe(settings):
    """Returns the settings as a Markdown table (TensorBoard's text dashboard renders it)."""
    rows = [f"| {key} | {json.dumps(value)} |" for key, value in sorted(settings.items())]
    return "\n".join(["| setting | value |", "|---|---|", *rows])
