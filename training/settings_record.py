"""What a training run records about its model (utils.run_settings) and where it shows it."""
from absl import logging

from datasets import download_and_convert_diabetic
from slim_compat import tf
from utils import run_settings


def model_settings(flags, dataset, num_classes, image_size):
    """Returns the run's settings: run_settings.MODEL_KEYS with their effective values, and label names.

    Args:
      flags: the training flags.
      dataset: the slim Dataset trained on (its labels_to_names gives the label names).
      num_classes: classes of the logits (after --labels_offset).
      image_size: the effective training image size.
    """
    names = dataset.labels_to_names or {}
    offset = flags.labels_offset
    settings = {
        "model_name": flags.model_name,
        "preprocessing_name": flags.preprocessing_name or flags.model_name,
        "train_image_size": image_size,
        "dataset_name": flags.dataset_name,
        "num_classes": num_classes,
        "labels_offset": offset,
        "batch_norm_decay": flags.batch_norm_decay,
        "freeze_batch_norm": bool(flags.freeze_batch_norm),
        "moving_average_decay": flags.moving_average_decay or None,
        run_settings.REGRESSION_LOSS: flags.regression_loss or None,
        run_settings.LABEL_NAMES: [names.get(label + offset, str(label + offset)) for label in range(num_classes)],
    }
    conversion = download_and_convert_diabetic.read_conversion(flags.dataset_dir)
    if conversion and conversion.get("settings"):
        settings[run_settings.CONVERSION] = conversion["settings"]
    return settings


def record_at_start(train_dir, settings):
    """Checks `settings` against a previous run in `train_dir`, then records them there.

    Raises:
      ValueError: `train_dir` holds checkpoints of a run with other model-defining settings.
    """
    if tf.train.latest_checkpoint(train_dir):
        run_settings.check_unchanged(run_settings.read(train_dir), settings, run_settings.settings_path(train_dir))
    run_settings.record(train_dir, settings)
    logging.info("Recorded the run's settings in %s", run_settings.settings_path(train_dir))


def add_settings_summary(settings):
    """Adds the settings as a TensorBoard text summary (`run_settings`, a table) to the graph."""
    tf.summary.text("run_settings", tf.constant(run_settings.describe(settings)))
