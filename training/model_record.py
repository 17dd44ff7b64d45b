"""The model a training run describes from its flags (utils.model_description), records and shows.

It is recorded in the train dir's settings file and shown as a TensorBoard text summary.
"""
from absl import logging

from datasets import download_and_convert_diabetic
from slim_compat import tf
from utils import model_description, run_settings


def describe_model(flags, dataset, num_classes, image_size, class_prior=None):
    """Returns the ModelDescription of the run: the training flags' effective values, once.

    Args:
      flags: the training flags.
      dataset: the slim Dataset trained on (its labels_to_names gives the class names).
      num_classes: classes of the logits (after --labels_offset).
      image_size: the effective training image size.
      class_prior: a model_description.ClassPrior when the batches do not follow the split's frequencies.
    """
    names = dataset.labels_to_names or {}
    offset = flags.labels_offset
    conversion = download_and_convert_diabetic.read_conversion(flags.dataset_dir)
    return model_description.ModelDescription(
        model_name=flags.model_name, preprocessing_name=flags.preprocessing_name or flags.model_name,
        image_size=image_size, dataset_name=flags.dataset_name, num_classes=num_classes, labels_offset=offset,
        class_names=tuple(names.get(label + offset, str(label + offset)) for label in range(num_classes)),
        batch_norm_decay=flags.batch_norm_decay, freeze_batch_norm=bool(flags.freeze_batch_norm),
        moving_average_decay=flags.moving_average_decay or None, regression_loss=flags.regression_loss or None,
        conversion=(model_description.Conversion.from_json(conversion["settings"])
                    if conversion and conversion.get("settings") else None),
        class_prior=class_prior)


def record_at_start(train_dir, description):
    """Checks `description` against a previous run in `train_dir`, then records it there.

    A grading fitted on an earlier checkpoint is kept; frequency cuts, which belong to one
    checkpoint, are cleared.

    Raises:
      ValueError: `train_dir` holds checkpoints of a run with other model-defining settings.
    """
    settings = description.to_json()
    if tf.train.latest_checkpoint(train_dir):
        run_settings.check_unchanged(run_settings.read(train_dir), settings, run_settings.settings_path(train_dir))
    run_settings.record(train_dir, {**settings, run_settings.FREQUENCY_CUTS: None})
    logging.info("Recorded the run's settings in %s", run_settings.settings_path(train_dir))


def add_settings_summary(description):
    """Adds the description as a TensorBoard text summary (`run_settings`, a table) to the graph."""
    tf.summary.text("run_settings", tf.constant(run_settings.describe(description.to_json())))
