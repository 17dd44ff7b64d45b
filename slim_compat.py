"""The one seam between tf-slim 1.1.0 (2020) and TensorFlow 2.21.

Import this module before anything that builds a graph, and take TensorFlow and
tf-slim from it::

    from slim_compat import slim, tf

Each name repair below undoes one upstream change and is applied only when the
name is actually missing, so it becomes a no-op the day a tf-slim release
catches up with TensorFlow. One repair mends behaviour: Supervisor.stop closes
the summary writer once (see _close_summary_writer_once).
tests/test_slim_compat.py exercises every repaired API.

Quiet start: importing TensorFlow prints start-up chatter from C++ on file
descriptor 2 (absl's note on logs before InitializeLog, oneDNN's note, and on a
machine without an NVIDIA driver the CUDA stub's "no cuda drivers" and, at the
first session, "failed call to cuInit", which reads like a failure). The import
runs with that descriptor captured; without a driver the CUDA probe runs there
too, so no session repeats it. The captured text is written back without those
lines, or whole when the import fails. With a driver nothing about the GPU is
hidden. TensorFlow's deprecation notices for the calls made here and for calls
made in tf-slim, in the tf-keras layers behind slim.batch_norm or in TensorFlow
itself (a resuming Supervisor's Saver) are hidden; the project's own calls of a
deprecated API still show, so that they get mended. tf-slim's
`layer.apply` warning (slim.batch_norm) and its "Scale of 0 disables
regularizer." line (a weight decay of 0) are hidden too. RETINA_SLIM_TF_LOGS=1
hides nothing; absl's --verbosity cannot help, as it acts after the import.

TensorFlow's Python logger prints with a handler of its own and also passes each
record on to the root logger, where absl's handler prints it again under
absl.app.run: its own handler now prints only when the root logger has none.
"""
import contextlib
import functools
import importlib
import logging
import os
import sys
import tempfile
import warnings

from utils import interruption

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TF_LOGS_VARIABLE = "RETINA_SLIM_TF_LOGS"
# Parts of the lines TensorFlow prints at every start, whatever the machine.
STARTUP_CHATTER = (
    "log messages before absl::InitializeLog() is called",
    "] oneDNN custom operations are on.",
)
# Parts of the lines in which CUDA reports that it finds no driver.
NO_DRIVER_CHATTER = (
    "] Could not find cuda drivers on your machine",
    "] failed call to cuInit:",
)
# Files present where an NVIDIA driver is loaded (in containers given a GPU too).
NVIDIA_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl")
# tf-slim's warning for every slim.batch_norm (it calls the legacy layer's apply).
LAYER_APPLY_WARNING = r"`layer\.apply` is deprecated"
# tf-slim's INFO line for every regularizer made with weight decay 0.
REGULARIZER_OFF_MESSAGE = "Scale of 0 disables regularizer."
# How TensorFlow's deprecation notices start; their first argument is the calling file:line.
DEPRECATION_NOTICE_START = "From %s: "
# Packages whose calls of deprecated TensorFlow APIs are not ours to mend: tf-slim's, the tf-keras layers
# behind slim.batch_norm, and TensorFlow's own (the Saver a resuming Supervisor uses calls one).
LIBRARY_PACKAGES = ("tf_slim", "tf_keras", "tensorflow")

# (module whose attribute tf-slim reads, attribute, module that now defines it,
#  name it has there)
MOVED_NAMES = (
    # TF 2.13 moved the Tensor class to framework/tensor.py.
    ("tensorflow.python.framework.ops", "Tensor", "tensorflow.python.framework.tensor", "Tensor"),
    # TF 2.13 moved IndexedSlices to framework/indexed_slices.py.
    ("tensorflow.python.framework.ops", "IndexedSlices", "tensorflow.python.framework.indexed_slices",
     "IndexedSlices"),
    # TF 2.13 split control_flow_ops into one module per construct.
    ("tensorflow.python.ops.control_flow_ops", "cond", "tensorflow.python.ops.cond", "cond"),
    ("tensorflow.python.ops.control_flow_ops", "case", "tensorflow.python.ops.control_flow_case", "case"),
    ("tensorflow.python.ops.control_flow_ops", "while_loop", "tensorflow.python.ops.while_loop", "while_loop"),
    ("tensorflow.python.ops.control_flow_ops", "Assert", "tensorflow.python.ops.control_flow_assert", "Assert"),
    # TF 2.13 moved stack/unstack to ops/array_ops_stack.py.
    ("tensorflow.python.ops.array_ops", "stack", "tensorflow.python.ops.array_ops_stack", "stack"),
    ("tensorflow.python.ops.array_ops", "unstack", "tensorflow.python.ops.array_ops_stack", "unstack"),
    # TF 2.13 replaced the V1 `variable` factory by ops/variable_v1.VariableV1.
    ("tensorflow.python.ops.variable_scope", "variable", "tensorflow.python.ops.variable_v1", "VariableV1"),
)

# TF's legacy layers (used by slim.batch_norm) lazily import
# `tf_keras.legacy_tf_layers`; tf-keras 2.16+ ships it under `tf_keras.src`.
LEGACY_LAYERS_ALIAS = ("tf_keras.legacy_tf_layers", "tf_keras.src.legacy_tf_layers")


def tensorflow_logs_wanted():
    """True when RETINA_SLIM_TF_LOGS asks for everything TensorFlow and tf-slim print."""
    return os.environ.get(TF_LOGS_VARIABLE, "") not in ("", "0")


def has_nvidia_driver():
    """True when an NVIDIA driver is loaded, i.e. CUDA may find a GPU."""
    return any(os.path.exists(path) for path in NVIDIA_DRIVER_FILES)


def chatter_markers(nvidia_driver):
    """Returns the parts of the start-up lines to hide; with a driver, none about CUDA."""
    return STARTUP_CHATTER if nvidia_driver else STARTUP_CHATTER + NO_DRIVER_CHATTER


@contextlib.contextmanager
def stderr_without(markers):
    """Captures file descriptor 2 in the block, then writes back the lines that hold none of `markers`.

    When the block raises, everything captured is written back.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            markers = ()
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not any(marker in line for marker in markers)))
            sys.stderr.flush()


@contextlib.contextmanager
def _quiet_start():
    """Runs the block (TensorFlow's import) without the start-up chatter, unless logs are wanted."""
    if tensorflow_logs_wanted():
        yield
        return
    nvidia_driver = has_nvidia_driver()
    with stderr_without(chatter_markers(nvidia_driver)):
        deprecation = importlib.import_module("tensorflow.python.util.deprecation")
        with deprecation.silence():
            yield
        if not nvidia_driver:
            importlib.import_module("tensorflow").config.list_physical_devices("GPU")


def _restore_moved_names():
    for module_name, name, new_home, new_name in MOVED_NAMES:
        module = importlib.import_module(module_name)
        if not hasattr(module, name):
            setattr(module, name, getattr(importlib.import_module(new_home), new_name))


def _alias_legacy_layers():
    old_name, new_name = LEGACY_LAYERS_ALIAS
    try:
        importlib.import_module(old_name)
    except ImportError:
        package = importlib.import_module(new_name)
        sys.modules[old_name] = package
        for submodule in ("base", "convolutional", "core", "normalization", "pooling", "variable_scope_shim"):
            sys.modules[f"{old_name}.{submodule}"] = importlib.import_module(f"{new_name}.{submodule}")


def _close_summary_writer_once():
    """Makes a second Supervisor.stop leave the summary writer the first one closed.

    slim.learning.train stops its Supervisor, closing the writer, and leaving
    managed_session stops it again: that wrote a STOP event to the closed writer
    (a no-op) and warned "Attempting to use a closed FileWriter" after every run.
    """
    supervisor = importlib.import_module("tensorflow.python.training.supervisor").Supervisor
    stop = supervisor.stop

    @functools.wraps(stop)
    def stop_once(self, threads=None, close_summary_writer=True, ignore_live_threads=False):
        closed = getattr(self.summary_writer, "_closed", False)
        stop(self, threads, close_summary_writer and not closed, ignore_live_threads)

    supervisor.stop = stop_once


def _print_tensorflow_lines_once():
    """Lets TensorFlow's own log handler print only where no root handler (absl's) prints the record too."""
    for handler in tf.get_logger().handlers:
        handler.addFilter(lambda record: not logging.getLogger().handlers)


def _is_library_noise(record, package_dirs):
    """True for tf-slim's "Scale of 0" line and for deprecation notices about calls made in `package_dirs`."""
    if record.getMessage() == REGULARIZER_OFF_MESSAGE:
        return True
    return (str(record.msg).startswith(DEPRECATION_NOTICE_START) and bool(record.args)
            and str(record.args[0]).startswith(package_dirs))


def _hide_library_noise():
    """Hides tf-slim's and TensorFlow's warnings and notices (see the module docstring), unless logs are wanted."""
    if tensorflow_logs_wanted():
        return
    warnings.filterwarnings("ignore", message=LAYER_APPLY_WARNING, category=UserWarning)
    package_dirs = tuple(os.path.dirname(sys.modules[name].__file__) + os.sep for name in LIBRARY_PACKAGES)
    tf.get_logger().addFilter(lambda record: not _is_library_noise(record, package_dirs))


try:
    with _quiet_start():
        import tensorflow.compat.v1 as tf

        _restore_moved_names()
        _alias_legacy_layers()
        _close_summary_writer_once()
        # slim.learning.train's Supervisor and tf.train.Saver need graph mode; with
        # eager on, the final checkpoint save fails.
        tf.disable_v2_behavior()
        import tf_slim as slim
except KeyboardInterrupt:  # Ctrl-C while TensorFlow loads
    interruption.stop("nothing was done yet")

_hide_library_noise()
_print_tensorflow_lines_once()

__all__ = ["slim", "tf"]
