"""The one seam between tf-slim 1.1.0 (2020) and TensorFlow 2.21.

Import this module before anything that builds a graph, and take TensorFlow and
tf-slim from it::

    from slim_compat import slim, tf

Each repair below undoes one upstream change and is applied only when the name
is actually missing, so the module becomes a no-op (and can be deleted) the day
a tf-slim release catches up with TensorFlow. tests/test_slim_compat.py
exercises every repaired API.
"""
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow.compat.v1 as tf  # noqa: E402
from tensorflow.python.framework import ops  # noqa: E402
from tensorflow.python.ops import array_ops  # noqa: E402
from tensorflow.python.ops import control_flow_ops  # noqa: E402
from tensorflow.python.ops import variable_scope  # noqa: E402

# (module whose attribute tf-slim reads, attribute, module that now defines it,
#  name it has there)
MOVED_NAMES = (
    # TF 2.13 moved the Tensor class to framework/tensor.py.
    (ops, "Tensor", "tensorflow.python.framework.tensor", "Tensor"),
    # TF 2.13 moved IndexedSlices to framework/indexed_slices.py.
    (ops, "IndexedSlices", "tensorflow.python.framework.indexed_slices", "IndexedSlices"),
    # TF 2.13 split control_flow_ops into one module per construct.
    (control_flow_ops, "cond", "tensorflow.python.ops.cond", "cond"),
    (control_flow_ops, "case", "tensorflow.python.ops.control_flow_case", "case"),
    (control_flow_ops, "while_loop", "tensorflow.python.ops.while_loop", "while_loop"),
    (control_flow_ops, "Assert", "tensorflow.python.ops.control_flow_assert", "Assert"),
    # TF 2.13 moved stack/unstack to ops/array_ops_stack.py.
    (array_ops, "stack", "tensorflow.python.ops.array_ops_stack", "stack"),
    (array_ops, "unstack", "tensorflow.python.ops.array_ops_stack", "unstack"),
    # TF 2.13 replaced the V1 `variable` factory by ops/variable_v1.VariableV1.
    (variable_scope, "variable", "tensorflow.python.ops.variable_v1", "VariableV1"),
)

# TF's legacy layers (used by slim.batch_norm) lazily import
# `tf_keras.legacy_tf_layers`; tf-keras 2.16+ ships it under `tf_keras.src`.
LEGACY_LAYERS_ALIAS = ("tf_keras.legacy_tf_layers", "tf_keras.src.legacy_tf_layers")


def _restore_moved_names():
    for module, name, new_home, new_name in MOVED_NAMES:
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


_restore_moved_names()
_alias_legacy_layers()
# slim.learning.train's Supervisor and tf.train.Saver need graph mode; with
# eager on, the final checkpoint save fails.
tf.disable_v2_behavior()

import tf_slim as slim  # noqa: E402

__all__ = ["slim", "tf"]
