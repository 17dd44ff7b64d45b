"""MobileNet V3 (Howard et al. 2019, https://arxiv.org/abs/1905.02244) and MobileNet EdgeTPU, as upstream TF-Slim builds them.

Variables live under `MobilenetV3/` (`MobilenetEdgeTPU/` for the EdgeTPU variants):
`Conv`, `expanded_conv[_N]` (with `squeeze_excite/Conv[_1]` where the block has one),
`Conv_1`, `Conv_2` and `Logits/Conv2d_1c_1x1`, matching the published checkpoints.
"""
import copy
import functools

import numpy as np

from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib
from slim_compat import slim, tf

op = lib.op
expand_input = ops.expand_input_by_factor


def _hard_sigmoid(x):
    return tf.nn.relu6(x + 3) * 0.16667


# Squeeze-excite of V3: a quarter of the channels, relu inside, hard sigmoid gate.
squeeze_excite = functools.partial(ops.squeeze_excite, squeeze_factor=4, inner_activation_fn=tf.nn.relu,
                                   gating_fn=_hard_sigmoid)


def _se4(expansion_tensor, input_tensor):
    """`expanded_conv` expansion transform: squeeze-excite on the depthwise output."""
    del input_tensor
    return squeeze_excite(expansion_tensor)


def hard_swish(x):
    """x * relu6(x + 3) / 6."""
    with tf.name_scope("hard_swish"):
        return x * tf.nn.relu6(x + np.float32(3)) * np.float32(1. / 6.)


def reduce_to_1x1(input_tensor, default_size=7, **kwargs):
    """Average pool over the whole (square) feature map; a `default_size` window when its size is unknown."""
    height, width = input_tensor.shape.as_list()[1:3]
    size = height if height is not None and width == height else default_size
    return slim.avg_pool2d(input_tensor, kernel_size=[size, size], **kwargs)


def mbv3_op(ef, n, k, s=1, act=tf.nn.relu, se=None, **kwargs):
    """One V3 block: expansion factor `ef`, `n` outputs, `k`x`k` depthwise kernel, stride `s`,
    inner activation `act`, squeeze-excite transform `se`; `kwargs` go to `expanded_conv`."""
    return op(ops.expanded_conv, expansion_size=expand_input(ef), kernel_size=(k, k), stride=s, num_outputs=n,
              inner_activation_fn=act, expansion_transform=se, **kwargs)


def mbv3_fused(ef, n, k, s=1, **kwargs):
    """EdgeTPU block: a full `k`x`k` expansion convolution of stride `s` replaces expansion plus depthwise."""
    expansion_fn = functools.partial(slim.conv2d, kernel_size=k, stride=s)
    return mbv3_op(ef, n, k=1, s=s, depthwise_location=None, expansion_fn=expansion_fn, **kwargs)


DEFAULTS = {
    (ops.expanded_conv,): dict(normalizer_fn=slim.batch_norm, residual=True),
    (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
        "normalizer_fn": slim.batch_norm, "activation_fn": tf.nn.relu},
    (slim.batch_norm,): {"center": True, "scale": True},
}


# The blocks of V3: (expansion factor, outputs, depthwise kernel, stride, hard-swish inside, squeeze-excite).
_LARGE_BLOCKS = [
    (1, 16, 3, 1, False, False),
    (4, 24, 3, 2, False, False),
    (3, 24, 3, 1, False, False),
    (3, 40, 5, 2, False, True),
    (3, 40, 5, 1, False, True),
    (3, 40, 5, 1, False, True),
    (6, 80, 3, 2, True, False),
    (2.5, 80, 3, 1, True, False),
    (184 / 80., 80, 3, 1, True, False),
    (184 / 80., 80, 3, 1, True, False),
    (6, 112, 3, 1, True, True),
    (6, 112, 3, 1, True, True),
    (6, 160, 5, 2, True, True),
    (6, 160, 5, 1, True, True),
    (6, 160, 5, 1, True, True),
]
_SMALL_BLOCKS = [
    (1, 16, 3, 2, False, True),
    (72. / 16, 24, 3, 2, False, False),
    (88. / 24, 24, 3, 1, False, False),
    (4, 40, 5, 2, True, True),
    (6, 40, 5, 1, True, True),
    (6, 40, 5, 1, True, True),
    (3, 48, 5, 1, True, True),
    (3, 48, 5, 1, True, True),
    (6, 96, 5, 2, True, True),
    (6, 96, 5, 1, True, True),
    (6, 96, 5, 1, True, True),
]


def _v3_def(blocks, last_conv_depth, embedding_depth, minimalistic=False):
    """A V3 conv_defs: 3x3 stem, `blocks`, 1x1 convolution, average pool to 1x1, biased 1x1 embedding.

    The minimalistic form has no squeeze-excite, no hard-swish (relu throughout) and only 3x3 kernels.
    """
    swish = {} if minimalistic else {"activation_fn": hard_swish}
    spec = [op(slim.conv2d, stride=2, num_outputs=16, kernel_size=(3, 3), **swish)]
    for ef, n, k, s, uses_hard_swish, uses_squeeze_excite in blocks:
        if minimalistic:
            spec.append(mbv3_op(ef=ef, n=n, k=3, s=s))
        else:
            spec.append(mbv3_op(ef=ef, n=n, k=k, s=s, act=hard_swish if uses_hard_swish else tf.nn.relu,
                                se=_se4 if uses_squeeze_excite else None))
    spec += [
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=last_conv_depth, **swish),
        op(reduce_to_1x1, default_size=7, stride=1, padding="VALID"),
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=embedding_depth, normalizer_fn=None, **swish),
    ]
    return dict(defaults=dict(DEFAULTS), spec=spec)


V3_LARGE = _v3_def(_LARGE_BLOCKS, 960, 1280)
V3_LARGE_MINIMALISTIC = _v3_def(_LARGE_BLOCKS, 960, 1280, minimalistic=True)  # 72.2 % top-1
V3_SMALL = _v3_def(_SMALL_BLOCKS, 576, 1024)
V3_SMALL_MINIMALISTIC = _v3_def(_SMALL_BLOCKS, 576, 1024, minimalistic=True)  # 62 % top-1

# EdgeTPU-friendly: fused (full) convolutions instead of depthwise ones in the early layers.
V3_EDGETPU = dict(
    defaults=dict(DEFAULTS),
    spec=[
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=(3, 3)),
        mbv3_fused(k=3, s=1, ef=1, n=16),
        mbv3_fused(k=3, s=2, ef=8, n=32),
        *[mbv3_fused(k=3, s=1, ef=4, n=32) for _ in range(3)],
        mbv3_fused(k=3, s=2, ef=8, n=48),
        *[mbv3_fused(k=3, s=1, ef=4, n=48) for _ in range(3)],
        mbv3_op(k=3, s=2, ef=8, n=96),
        *[mbv3_op(k=3, s=1, ef=4, n=96) for _ in range(3)],
        mbv3_op(k=3, s=1, ef=8, n=96, residual=False),
        *[mbv3_op(k=3, s=1, ef=4, n=96) for _ in range(3)],
        mbv3_op(k=5, s=2, ef=8, n=160),
        *[mbv3_op(k=5, s=1, ef=4, n=160) for _ in range(3)],
        mbv3_op(k=3, s=1, ef=8, n=192),
        op(slim.conv2d, stride=1, num_outputs=1280, kernel_size=(1, 1)),
    ])


def _keep_depth(params, multiplier):
    """Multiplier function that leaves a layer's depth alone."""
    del multiplier
    return params


@slim.add_arg_scope
def mobilenet(input_tensor, num_classes=1001, depth_multiplier=1.0, scope="MobilenetV3", conv_defs=None,
              finegrain_classification_mode=False, **kwargs):
    """MobileNet V3 classifier (V3_LARGE by default).

    Inference mode is created by default; train inside `training_scope()`.

    Args:
      input_tensor: [batch, height, width, channels] images.
      num_classes: classifier width (1001: ImageNet with background).
      depth_multiplier: scales the depth of every layer.
      scope: variable scope.
      conv_defs: architecture: V3_LARGE, V3_SMALL, their _MINIMALISTIC forms, V3_EDGETPU, or your own.
      finegrain_classification_mode: keep the last layer at full depth whatever the multiplier.
      **kwargs: passed to `mobilenet.mobilenet` (prediction_fn, reuse, base_only, final_endpoint, ...).

    Returns:
      (logits, end points).

    Raises:
      ValueError: a generic `multiplier` argument (use depth_multiplier).
    """
    if conv_defs is None:
        conv_defs = V3_LARGE
    if "multiplier" in kwargs:
        raise ValueError("mobilenetv3 doesn't support generic multiplier parameter use \"depth_multiplier\" instead.")
    if finegrain_classification_mode:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["spec"][-1] = conv_defs["spec"][-1]._replace(multiplier_func=_keep_depth)
    return lib.mobilenet(input_tensor, num_classes=num_classes, conv_defs=conv_defs, scope=scope,
                         multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224
training_scope = lib.training_scope


mobilenet_base = lib.base_only(mobilenet)


wrapped_partial = lib.wrapped_partial

large = wrapped_partial(mobilenet, conv_defs=V3_LARGE)
small = wrapped_partial(mobilenet, conv_defs=V3_SMALL)
edge_tpu = wrapped_partial(mobilenet, new_defaults={"scope": "MobilenetEdgeTPU"}, conv_defs=V3_EDGETPU)
edge_tpu_075 = wrapped_partial(mobilenet, new_defaults={"scope": "MobilenetEdgeTPU"}, conv_defs=V3_EDGETPU,
                               depth_multiplier=0.75, finegrain_classification_mode=True)
large_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = wrapped_partial(mobilenet, conv_defs=V3_SMALL_MINIMALISTIC)


def _reduce_consecutive_layers(conv_defs, start_id, end_id, multiplier=0.5):
    """Copy of `conv_defs` whose layers `start_id`..`end_id` (0-based, inclusive) have `multiplier` times the outputs."""
    reduced = copy.deepcopy(conv_defs)
    for layer in reduced["spec"][start_id:end_id + 1]:
        layer.params["num_outputs"] = int(np.round(layer.params["num_outputs"] * multiplier))
    return reduced


# Object-detection backbones: the last stage halved.
V3_LARGE_DETECTION = _reduce_consecutive_layers(V3_LARGE, 13, 16)
V3_SMALL_DETECTION = _reduce_consecutive_layers(V3_SMALL, 9, 12)

__all__ = ["training_scope", "mobilenet", "V3_LARGE", "V3_SMALL", "large", "small", "V3_LARGE_DETECTION",
           "V3_SMALL_DETECTION"]
