"""The flags that eval_image_classifier.py, predict_image_classifier.py and export_inference_graph.py share.

Each script calls the `define_*` functions it needs at import time. The flags
then belong to that script, as if it had defined them itself, so its `--help`
lists them.
"""
from absl import flags

from evaluation import evaluator
from nets import nets_factory
from utils import flag_checks

# Attribute the flags defined below to the calling script, not to this module (absl's key-flag owner).
flags.disclaim_key_flags()


def define_model_flags():
    """Defines the flags naming the trained network and how it is run (eval, predict and export)."""
    flags.DEFINE_string("model_name", "inception_v3", "The name of the architecture.")
    flags.DEFINE_string("preprocessing_name", None, "The name of the preprocessing to use; defaults to model_name.")
    flags.DEFINE_integer("labels_offset", 0, "An offset for the labels in the dataset, e.g. 1 for a model "
                         "trained without the background class.")
    flags.DEFINE_float("moving_average_decay", None, "The decay to use for the moving average; if given, the "
                       "moving averages of the weights are restored instead of the weights.")
    flags.DEFINE_boolean("tta", False, "Average probabilities over the 8 flips and quarter turns of each image.")


def define_batch_flags():
    """Defines the flags of a pass over images with a checkpoint (eval and predict)."""
    flags.DEFINE_string("checkpoint_path", "/tmp/tfmodel/",
                        "The directory where the model was written to or an absolute path to a checkpoint file.")
    flags.DEFINE_integer("batch_size", 100, "The number of samples in each batch.")
    flags.DEFINE_integer("num_preprocessing_threads", 4, "The number of images decoded and preprocessed in parallel.")
    flags.DEFINE_integer("eval_image_size", None, "Eval image size; defaults to the network's size.")
    flags.DEFINE_string("master", "", "The address of the TensorFlow master to use.")


def model_config(num_classes, image_size):
    """Returns the evaluator.ModelConfig that the flags of `define_model_flags` describe."""
    options = flags.FLAGS
    return evaluator.ModelConfig(
        model_name=options.model_name, num_classes=num_classes, preprocessing_name=options.preprocessing_name,
        image_size=image_size, moving_average_decay=options.moving_average_decay, tta=options.tta)


def check_flags():
    """Rejects values of the flags defined here (and --eval_dir, --max_num_batches) before any graph is built.

    Raises:
      ValueError: one line naming the flag: a count or size below 1, an image size below the
        network's minimum, a decay outside (0, 1), or an output directory that is a file.
    """
    options = flags.FLAGS
    flag_checks.positive(options, "batch_size", "num_preprocessing_threads", "eval_image_size", "max_num_batches")
    flag_checks.decay(options, "moving_average_decay")
    flag_checks.directory_or_absent(options, "eval_dir")
    nets_factory.check_image_size(options.model_name, getattr(options, "eval_image_size", None), "--eval_image_size")
