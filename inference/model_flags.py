"""The flags that eval_image_classifier.py, predict_image_classifier.py and export_inference_graph.py share.

Each script calls the `define_*` functions it needs at import time. The flags
then belong to that script, as if it had defined them itself, so its `--help`
lists them.

`read_description` returns the model a script runs: the ModelDescription the checkpoint's
training run recorded (utils.model_description), with the flags of SETTING_FLAGS merged in:
a flag left out takes the recorded value, a flag given explicitly with another value is an
error unless --override_run_settings is set. Flag values are never changed: the scripts read
the model's settings from the description. Another --dataset_name is no contradiction
when its classes mean what the model's mean (two datasets of DR grades: a model
trained on `diabetic` is evaluated on `messidor2`); its photos must then have been
prepared as the model's were (`check_preparation`).
"""
import dataclasses

from absl import flags, logging

from datasets import dataset_factory
from fundus import preparation as fundus_preparation
from inference import model_runner
from nets import nets_factory
from utils import flag_checks, model_description, run_settings, shared_flags

# Attribute the flags defined below to the calling script, not to this module (absl's key-flag owner).
flags.disclaim_key_flags()

# Flag name -> the setting giving its default (its run_settings.json key, "a.b": key b of the dict
# under key a). A script uses the entries for the flags it defines.
SETTING_FLAGS = {
    "model_name": "model_name",
    "preprocessing_name": "preprocessing_name",
    "labels_offset": "labels_offset",
    "moving_average_decay": "moving_average_decay",
    "dataset_name": "dataset_name",
    "eval_image_size": "train_image_size",
    "image_size": "train_image_size",
    "prepare_image_size": f"{run_settings.CONVERSION}.{run_settings.CONVERSION_IMAGE_SIZE}",
    "crop_threshold": f"{run_settings.CONVERSION}.{run_settings.CONVERSION_CROP_THRESHOLD}",
    "graham": f"{run_settings.CONVERSION}.{run_settings.CONVERSION_GRAHAM}",
    "crop_mode": f"{run_settings.CONVERSION}.{run_settings.CONVERSION_CROP_MODE}",
}
# Flag values that choose not to use a setting rather than contradict it: 0 reads prepared images.
OPT_OUT_VALUES = {"prepare_image_size": 0}
OVERRIDE_FLAG = "override_run_settings"
# Flag -> `same(given, recorded)`: whether another value than the recorded one still means the same to the model.
EQUIVALENT_VALUES = {"dataset_name": dataset_factory.same_classes}
# Why another value contradicts the setting, where that needs saying.
CONTRADICTION_REASONS = {"dataset_name": ": its classes are not the ones the model was trained to tell apart"}


def define_model_flags():
    """Defines the flags naming the trained network and how it is run (eval, predict and export)."""
    shared_flags.define_network()
    shared_flags.define_moving_average_decay()
    flags.DEFINE_boolean("tta", False, "Average probabilities over the 8 flips and quarter turns of each image.")
    flags.DEFINE_boolean(OVERRIDE_FLAG, False, "Let flags given explicitly differ from the settings recorded by "
                         f"the checkpoint's training run ({run_settings.SETTINGS_FILE}, which otherwise gives "
                         "their defaults and refuses a contradiction).")


def define_batch_flags():
    """Defines the flags of a pass over images with a checkpoint (eval and predict)."""
    shared_flags.define_checkpoint_path(shared_flags.UPSTREAM_EVAL_CHECKPOINT_PATH, "the model to run.")
    shared_flags.define_batch_size(100)
    shared_flags.define_num_preprocessing_threads(4)
    flags.DEFINE_integer("eval_image_size", None, "Eval image size; defaults to the network's size.")
    shared_flags.define_master()


def define_preparation_flags(default_image_size):
    """Defines how camera photographs are prepared as the conversion did (predict --image_dir, the SavedModel).

    Args:
      default_image_size: the default of --prepare_image_size when the training run recorded none.
    """
    flags.DEFINE_integer("prepare_image_size", default_image_size,
                         "Crop each camera photograph's black border and resize it to this size first, as "
                         "download_and_convert_data.py does (its --image_size; the default is the one the "
                         "training run recorded). 0: the images are prepared already (e.g. "
                         "DIR/processed_images/test/unlabelled) and read as they are.")
    flags.DEFINE_integer("crop_threshold", fundus_preparation.DEFAULT_CROP_THRESHOLD,
                         "With --prepare_image_size: border rows/columns whose brightest channel is at most this "
                         "are cropped (the conversion's --crop_threshold).")
    flags.DEFINE_boolean("graham", False, "With --prepare_image_size: also apply Graham's normalisation, as "
                         "download_and_convert_data.py --graham (the default is what the training run recorded).")
    flags.DEFINE_enum("crop_mode", fundus_preparation.DEFAULT_CROP_MODE, fundus_preparation.CROP_MODES,
                      "With --prepare_image_size: the conversion's --crop_mode, disc (a square around the fitted "
                      "disc) or book (the bounding box, stretched); the default is what the training run recorded.")


_MISSING = object()


def _setting(settings, key):
    """Returns the value of `key` ("a.b" looks into the dict under "a"), or _MISSING."""
    parent, _, last = key.rpartition(".")
    for part in parent.split(".") if parent else []:
        if not isinstance(settings, dict) or part not in settings:
            return _MISSING
        settings = settings[part]
    if not isinstance(settings, dict):
        return _MISSING
    return settings.get(last, _MISSING)


def _merged_value(name, key, recorded, where):
    """The value flag `name` gives setting `key` (recorded: its recorded value or _MISSING), after the checks.

    Raises:
      ValueError: the flag, given explicitly, contradicts the recorded value (without --override_run_settings).
    """
    options = flags.FLAGS
    given = options[name].value
    if recorded is _MISSING:
        return given
    if not options[name].present or given == recorded:
        return recorded
    if name in EQUIVALENT_VALUES and EQUIVALENT_VALUES[name](given, recorded):
        logging.info("--%s=%s: the model was trained on %s, whose classes mean the same", name, given, recorded)
    elif given != OPT_OUT_VALUES.get(name, _MISSING):
        message = (f"--{name}={given} contradicts the checkpoint's training run "
                   f"({key}={recorded} in {where}){CONTRADICTION_REASONS.get(name, '')}")
        if not options[OVERRIDE_FLAG].value:
            raise ValueError(f"{message}; leave the flag out, or add --{OVERRIDE_FLAG} to use it anyway")
        logging.warning("%s; used anyway (--%s)", message, OVERRIDE_FLAG)
    return given


def read_description(checkpoint_path):
    """Returns the ModelDescription this script runs: the checkpoint's recorded one, the flags merged in.

    A flag of SETTING_FLAGS left out of the command line takes the recorded value (its default
    when nothing is recorded). A flag given with the recorded value, or with its OPT_OUT_VALUES
    value, is fine; with another value it is an error, unless --override_run_settings, which
    keeps the flag's value and logs a warning. An opt-out value leaves the recorded setting in
    the description (see `preparation`).

    Args:
      checkpoint_path: a checkpoint file or folder; None or a folder without settings: the flags alone.

    Raises:
      ValueError: a flag contradicts a recorded setting, naming both values; an unreadable settings file.
    """
    directory = run_settings.checkpoint_directory(checkpoint_path or ".")
    where = run_settings.settings_path(directory)
    settings = run_settings.read(directory) if checkpoint_path else {}
    description = model_description.ModelDescription.from_json(settings, where)
    if description.conversion is not None:  # with what a conversion recorded before a setting existed had
        settings = {**settings, run_settings.CONVERSION: description.conversion.to_json()}
    options = flags.FLAGS
    values = {}
    for name, key in SETTING_FLAGS.items():
        if name in options:
            value = _merged_value(name, key, _setting(settings, key), where)
            if value != OPT_OUT_VALUES.get(name, _MISSING):
                values[key] = value
    return description.with_settings(values)


def preparation(description):
    """The conversion this run applies to camera photographs (the description's), or None: it reads them as
    they are (--prepare_image_size=0 given, or no size recorded nor given)."""
    options = flags.FLAGS
    if options["prepare_image_size"].present and options.prepare_image_size == 0:
        return None
    conversion = description.conversion
    return conversion if conversion is not None and conversion.image_size else None


def check_preparation(description, dataset):
    """Refuses a split whose photos were prepared otherwise than the training run's (its recorded conversion).

    A model evaluated on another dataset (or another conversion) must see photos prepared as it was
    trained on them; settings recorded on one side only are not compared. With --override_run_settings
    the difference is logged instead.

    Args:
      description: the model's description (read_description's result).
      dataset: the slim Dataset evaluated (its `conversion_settings`, from its TFRecords).

    Raises:
      ValueError: one line naming the settings that differ and how to convert the dataset again.
    """
    found = getattr(dataset, "conversion_settings", None)
    if description.conversion is None or not found:
        return
    trained = description.conversion.to_json()
    found = model_description.Conversion.from_json(found).to_json()
    differ = sorted(key for key in fundus_preparation.DEFAULT_SETTINGS if key in trained and key in found
                    and trained[key] != found[key])
    if not differ:
        return
    message = (f"{dataset.data_sources}: its photos were prepared with "
               f"{', '.join(f'{key}={found[key]}' for key in differ)}, the checkpoint's training photos with "
               f"{', '.join(f'{key}={trained[key]}' for key in differ)}; convert it again with "
               f"{' '.join(_conversion_flag(key, trained[key]) for key in differ)}")
    if not flags.FLAGS[OVERRIDE_FLAG].value:
        raise ValueError(f"{message}, or add --{OVERRIDE_FLAG} to evaluate it anyway")
    logging.warning("%s; evaluated anyway (--%s)", message, OVERRIDE_FLAG)


def _conversion_flag(key, value):
    """download_and_convert_data.py's flag giving setting `key` its `value`."""
    if isinstance(value, bool):
        return f"--{key}" if value else f"--no{key}"
    return f"--{key}={value}"


def with_num_classes(description, num_classes=None):
    """Returns `description` with its class count: `num_classes` when given, else the recorded one (unless
    --override_run_settings), else that of its dataset (--dataset_dir) less its labels offset."""
    if num_classes is None:
        num_classes = description.num_classes
        if num_classes is None or flags.FLAGS[OVERRIDE_FLAG].value:
            num_classes = model_runner.dataset_num_classes(description.dataset_name, description.labels_offset,
                                                           flags.FLAGS.dataset_dir)
    return dataclasses.replace(description, num_classes=num_classes)


def model_config(description):
    """Returns the model_runner.ModelConfig of `description` (with its class count), with --tta."""
    return model_runner.ModelConfig.from_description(description, tta=flags.FLAGS.tta)


def check_dr_grades_flag(name, description):
    """Rejects the boolean flag `name` when set for a dataset whose labels are not DR grades.

    Raises:
      ValueError: one line naming the flag and the dataset.
    """
    if flags.FLAGS[name].value and not dataset_factory.has_dr_grades(description.dataset_name):
        raise ValueError(f"--{name} applies to diabetic-retinopathy grades only; "
                         f"--dataset_name={description.dataset_name} has classes, not DR grades")


def check_flags():
    """Rejects values of the flags defined here (and --max_num_batches) before any graph is built.

    Raises:
      ValueError: one line naming the flag: a count or size below 1, or a decay outside (0, 1).
    """
    options = flags.FLAGS
    flag_checks.positive(options, "batch_size", "num_preprocessing_threads", "eval_image_size", "max_num_batches")
    flag_checks.decay(options, "moving_average_decay")


def check_image_size(description):
    """Rejects the description's image size (--eval_image_size, or the recorded one) below its network's minimum.

    Raises:
      ValueError: one line naming the flag.
    """
    nets_factory.check_image_size(description.model_name, description.image_size, "--eval_image_size")


def check_outputs():
    """Makes sure the script can write its outputs (creating their folders); the last check before any graph.

    Raises:
      ValueError: one line naming the flag whose folder is a file or cannot be written.
    """
    flag_checks.writable_directory(flags.FLAGS, "eval_dir", "heatmap_dir", "report_dir")
    flag_checks.writable_parent(flags.FLAGS, "predictions_file", "submission_file")
