"""Mixed precision and XLA compilation of the training graph (both off unless asked for).

Mixed precision is TensorFlow's graph rewrite: the variables, and so the
checkpoints, stay float32; grappler computes the numerically safe ops
(convolutions, matmuls, most element-wise ops) in a 16-bit type, keeping
softmax, losses and reductions in float32.

- float16 rewrites the ops placed on an NVIDIA GPU (Tensor Cores, compute
  capability >= 7.0); ops on a CPU are left alone. Its small range needs loss
  scaling: the loss is multiplied before the gradients are taken and the
  gradients divided back, the scale halving on a step with non-finite gradients
  (that step is skipped) and doubling after 2,000 finite ones.
- bfloat16 rewrites the ops placed on the CPU with oneDNN (fast on CPUs with
  AVX512-BF16 or AMX); it has float32's range, so no loss scaling.

XLA compiles each clone's forward and backward pass into fused kernels.
"""
import contextlib

from absl import logging
from tensorflow.core.protobuf import rewriter_config_pb2

from slim_compat import tf

DTYPES = ("float16", "bfloat16")
CPUINFO = "/proc/cpuinfo"
# Processor flags (Linux's names) of the instructions that make oneDNN's bfloat16 faster than float32.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# Networks of depthwise convolutions, which oneDNN computes slower in bfloat16 than in float32 (the demo's
# MobileNet V3 small on an AVX512-BF16 CPU: 0.24-0.29 s/step against 0.13-0.18, 2026-12-04).
BFLOAT16_SLOWER_NETWORKS = ("mobilenet",)


def check_dtype(dtype):
    """Raises ValueError unless `dtype` is one of DTYPES."""
    if dtype not in DTYPES:
        raise ValueError(f"--mixed_precision_dtype [{dtype}] was not recognized; use one of {', '.join(DTYPES)}")


def gpu_available():
    """True when TensorFlow sees a GPU on this machine."""
    return bool(tf.config.list_physical_devices("GPU"))


def cpu_flags(cpuinfo_text=None):
    """The processor's feature flags, from `cpuinfo_text` (/proc/cpuinfo's format; read when None).

    Empty where there is no /proc/cpuinfo (other systems): no flag is claimed that was not seen.
    """
    if cpuinfo_text is None:
        try:
            with open(CPUINFO) as handle:
                cpuinfo_text = handle.read()
        except OSError:
            return frozenset()
    for line in cpuinfo_text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def cpu_bfloat16_support(flags):
    """The flags of BFLOAT16_CPU_FLAGS among the processor's `flags`, comma-separated; "" when none."""
    return ",".join(flag for flag in BFLOAT16_CPU_FLAGS if flag in flags)


def automatic_dtype(cpuinfo_text=None, model_name=None, master=""):
    """The type training computes in when --mixed_precision is not given, said in one log line.

    bfloat16 on a machine without a GPU whose processor has one of BFLOAT16_CPU_FLAGS (read from
    `cpuinfo_text`, /proc/cpuinfo when None), unless network `model_name` is one of
    BFLOAT16_SLOWER_NETWORKS or the session runs on a TensorFlow server `master` (whose processors
    this one cannot see, and whose grappler rewrite fuses bfloat16 convolutions it has no kernel for);
    None (float32) otherwise.
    """
    if master:
        logging.info("Training in float32: the session runs on %s (--mixed_precision_dtype chooses)", master)
        return None
    if gpu_available():
        logging.info("Training in float32 (--mixed_precision computes in float16 on the GPU)")
        return None
    if model_name and model_name.startswith(BFLOAT16_SLOWER_NETWORKS):
        logging.info("Training in float32: %s's depthwise convolutions are slower in bfloat16 on a CPU", model_name)
        return None
    support = cpu_bfloat16_support(cpu_flags(cpuinfo_text))
    if not support:
        logging.info("Training in float32: this CPU has no bfloat16 instructions (%s)",
                     " or ".join(BFLOAT16_CPU_FLAGS))
        return None
    logging.info("Training in mixed bfloat16: this CPU has %s (--nomixed_precision trains in float32)", support)
    return "bfloat16"


def session_config(dtype=None):
    """Returns the training session's ConfigProto: soft placement, and the rewrite to `dtype` (None: float32)."""
    config = tf.ConfigProto(allow_soft_placement=True)
    if dtype is None:
        return config
    check_dtype(dtype)
    if dtype == "float16" and not gpu_available():
        logging.warning("No GPU: float16 mixed precision only rewrites GPU ops, so the model computes in "
                        "float32 here (on a CPU with bfloat16 support use --mixed_precision_dtype=bfloat16)")
    option = "auto_mixed_precision" if dtype == "float16" else "auto_mixed_precision_onednn_bfloat16"
    setattr(config.graph_options.rewrite_options, option, rewriter_config_pb2.RewriterConfig.ON)
    return config


def _local_variable(next_creator, **kwargs):
    kwargs["collections"] = [tf.GraphKeys.LOCAL_VARIABLES]
    return next_creator(**kwargs)


def loss_scaled(optimizer, dtype):
    """Returns `optimizer` with dynamic loss scaling for float16 (`optimizer` itself for bfloat16 and None).

    The loss scale lives in local variables: it is session state, not model
    state, so checkpoints hold the same variables as a float32 run's and a run
    can switch precision when it restarts from its train dir (the scale starts
    again from 2**15 and adapts within a few steps).
    """
    if dtype != "float16":
        return optimizer
    with tf.variable_creator_scope(_local_variable):
        return tf.mixed_precision.MixedPrecisionLossScaleOptimizer(optimizer, "dynamic")


def compiled(enabled):
    """Context manager: ops built inside are compiled with XLA when `enabled` (gradients included)."""
    return tf.xla.experimental.jit_scope() if enabled else contextlib.nullcontext()
