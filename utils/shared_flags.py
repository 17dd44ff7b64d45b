"""The flags that several scripts define, each defined here once: one name, help text and default.

Each script calls the functions for the flags it has at import time; absl lists the flags in that
script's --help as if it had defined them itself. A default is an argument only where the scripts
need different ones, and then for one of these reasons:

- Upstream's scripts differ, and their defaults stay: --dataset_split_name is `train` for training
  and `test` for eval; --batch_size is 32 for training and 100 for eval (predict shares eval's);
  --checkpoint_path is where training fine-tunes from (None: from scratch) and the model that eval
  and predict read (upstream's /tmp/tfmodel/); --num_preprocessing_threads is eval's 4, while
  training, whose input pipeline is its bottleneck, autotunes (None).
- predict_image_classifier.py's --dataset_name is `diabetic`, not upstream's `imagenet`: it writes
  DR grades, and a checkpoint without a recorded training run is graded as a DR model (a recorded
  run's dataset is the default otherwise, as in eval and export).
- export_inference_graph.py keeps upstream's --dataset_dir default, "" (the others' is None), and
  its --checkpoint_path is optional (None: a GraphDef without weights).
- export_inference_graph.py defines its own --batch_size (the input placeholder's first dimension,
  None: any, not a batch of images read) and --use_grayscale (a 1-channel input it builds, where the
  other scripts refuse the flag).

Upstream flags this fork cannot honour are defined by `define_refused` and refused by
`check_refused` in the same words in every script.
"""
import collections

from absl import flags

# Attribute the flags defined below to the calling script, not to this module (absl's key-flag owner).
flags.disclaim_key_flags()

UPSTREAM_DATASET_NAME = "imagenet"
UPSTREAM_EVAL_CHECKPOINT_PATH = "/tmp/tfmodel/"
_QUANTIZE_GONE = "tf.contrib.quantize no longer exists in TensorFlow 2"
# An upstream flag kept so that upstream's commands parse: its default, whether a value asks for
# what this fork refuses, and why it is refused.
Refused = collections.namedtuple("Refused", "default asks reason")
REFUSED = {
    "quantize": Refused(False, bool, _QUANTIZE_GONE),
    "quantize_delay": Refused(-1, lambda delay: delay is not None and delay >= 0, f"{_QUANTIZE_GONE}; leave it at -1"),
    "use_grayscale": Refused(False, bool, "the colour of lesions matters for grading"),
}
_REFUSED_HELP = "Upstream's; refused here: {}."


def define_master():
    flags.DEFINE_string("master", "", "The address of the TensorFlow master to use.")


def define_dataset_name(default=UPSTREAM_DATASET_NAME):
    flags.DEFINE_string("dataset_name", default, "The name of the dataset to load (for eval, predict and export: "
                        "the training run's by default).")


def define_dataset_split_name(default):
    flags.DEFINE_string("dataset_split_name", default, "The name of the train/test split.")


def define_dataset_dir(default=None, extra_help=""):
    """Defines --dataset_dir; `extra_help` says what else a script reads from it."""
    flags.DEFINE_string("dataset_dir", default, "The directory where the dataset files are stored." + extra_help)


def define_network():
    """Defines --model_name, --preprocessing_name and --labels_offset."""
    flags.DEFINE_string("model_name", "inception_v3", "The name of the architecture.")
    flags.DEFINE_string("preprocessing_name", None, "The name of the preprocessing to use; defaults to model_name. "
                        "`fundus` gives rotation/flip augmentation without crops.")
    flags.DEFINE_integer("labels_offset", 0, "An offset for the labels in the dataset, e.g. 1 for a model trained "
                         "without ImageNet's background class (upstream's VGG and ResNet).")


def define_moving_average_decay():
    flags.DEFINE_float("moving_average_decay", None, "The decay of the moving averages of the weights: training "
                       "keeps them, eval, predict and export restore them instead of the weights. None: not used.")


def define_batch_size(default):
    flags.DEFINE_integer("batch_size", default, "The number of samples in each batch.")


def define_num_preprocessing_threads(default):
    flags.DEFINE_integer("num_preprocessing_threads", default, "The number of images decoded and preprocessed "
                         "in parallel. None: tf.data autotunes it from the CPU cores.")


def define_checkpoint_path(default, use):
    """Defines --checkpoint_path; `use` says what the script does with it."""
    flags.DEFINE_string("checkpoint_path", default, f"A checkpoint file, or a directory (its latest checkpoint): {use}")


def define_refused(*names):
    """Defines the upstream flags `names` (keys of REFUSED) with their upstream defaults, as refused."""
    for name in names:
        refused = REFUSED[name]
        define = flags.DEFINE_bool if isinstance(refused.default, bool) else flags.DEFINE_integer
        define(name, refused.default, _REFUSED_HELP.format(refused.reason))


def check_refused(values, *names):
    """Raises ValueError `--NAME is not supported: WHY` for the first of `names` given a value that asks for it."""
    for name in names:
        if REFUSED[name].asks(getattr(values, name)):
            raise ValueError(f"--{name} is not supported: {REFUSED[name].reason}")
