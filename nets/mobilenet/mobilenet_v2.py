"""MobileNet V2 (Sandler et al. 2018, https://arxiv.org/abs/1801.04381), as upstream TF-Slim builds it.

Variables live under `MobilenetV2/`: `Conv` (stem), `expanded_conv` ... `expanded_conv_16`
(the 17 inverted-residual blocks), `Conv_1` (1x1 to 1280) and `Logits/Conv2d_1c_1x1`,
so the published `mobilenet_v2_<multiplier>_224.ckpt` files restore.
"""
import copy

from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib
from slim_compat import slim, tf

op = lib.op
expand_input = ops.expand_input_by_factor


def _block(num_outputs, stride=1, **params):
    return op(ops.expanded_conv, stride=stride, num_outputs=num_outputs, **params)


def _blocks(num_outputs, repeats, first_stride):
    """`repeats` inverted-residual blocks of depth `num_outputs`, the first with stride `first_stride`."""
    return [_block(num_outputs, stride=first_stride if i == 0 else 1) for i in range(repeats)]


# The batch-norm and convolution defaults change the variables, so they belong to the
# architecture rather than to the training scope.
V2_DEF = dict(
    defaults={
        (slim.batch_norm,): {"center": True, "scale": True},
        (slim.conv2d, slim.fully_connected, slim.separable_conv2d): {
            "normalizer_fn": slim.batch_norm, "activation_fn": tf.nn.relu6},
        (ops.expanded_conv,): {
            "expansion_size": expand_input(6), "split_expansion": 1, "normalizer_fn": slim.batch_norm,
            "residual": True},
        (slim.conv2d, slim.separable_conv2d): {"padding": "SAME"},
    },
    spec=[
        op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
        _block(16, expansion_size=expand_input(1, divisible_by=1)),
        *_blocks(24, 2, first_stride=2),
        *_blocks(32, 3, first_stride=2),
        *_blocks(64, 4, first_stride=2),
        *_blocks(96, 3, first_stride=1),
        *_blocks(160, 3, first_stride=2),
        _block(320),
        op(slim.conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280),
    ],
)


@slim.add_arg_scope
def mobilenet(input_tensor, num_classes=1001, depth_multiplier=1.0, scope="MobilenetV2", conv_defs=None,
              finegrain_classification_mode=False, min_depth=None, divisible_by=None, activation_fn=None, **kwargs):
    """MobileNet V2 classifier. Inference mode is created by default; train inside `training_scope()`.

    Args:
      input_tensor: [batch, height, width, channels] images.
      num_classes: classifier width (1001: ImageNet with background).
      depth_multiplier: scales the depth of every layer.
      scope: variable scope.
      conv_defs: architecture (default `V2_DEF`).
      finegrain_classification_mode: keep the last 1x1 layer at full depth when depth_multiplier < 1.
      min_depth: smallest depth after the multiplier (None: the arg scope's, 8).
      divisible_by: depths are rounded to multiples of this (None: the arg scope's, 8).
      activation_fn: activation of the convolutions (default relu6).
      **kwargs: passed to `mobilenet.mobilenet` (prediction_fn, reuse, base_only, is_training, ...).

    Returns:
      (logits, end points).

    Raises:
      ValueError: a generic `multiplier` argument (use depth_multiplier).
    """
    if conv_defs is None:
        conv_defs = V2_DEF
    if "multiplier" in kwargs:
        raise ValueError("mobilenetv2 doesn't support generic multiplier parameter use \"depth_multiplier\" instead.")
    if finegrain_classification_mode and depth_multiplier < 1:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["spec"][-1].params["num_outputs"] /= depth_multiplier
    if activation_fn:
        conv_defs = copy.deepcopy(conv_defs)
        conv_defs["defaults"][(slim.conv2d, slim.fully_connected, slim.separable_conv2d)]["activation_fn"] = \
            activation_fn
    # Only what is given: otherwise an outer arg scope on depth_multiplier keeps its say.
    depth_args = {name: value for name, value in (("min_depth", min_depth), ("divisible_by", divisible_by))
                  if value is not None}
    with slim.arg_scope((lib.depth_multiplier,), **depth_args):
        return lib.mobilenet(input_tensor, num_classes=num_classes, conv_defs=conv_defs, scope=scope,
                             multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224

# Narrower and wider variants; below 1.0 the last layer keeps its 1280 channels.
mobilenet_v2_140 = lib.wrapped_partial(mobilenet, depth_multiplier=1.4)
mobilenet_v2_050 = lib.wrapped_partial(mobilenet, depth_multiplier=0.50, finegrain_classification_mode=True)
mobilenet_v2_035 = lib.wrapped_partial(mobilenet, depth_multiplier=0.35, finegrain_classification_mode=True)


mobilenet_base = lib.base_only(mobilenet)


def training_scope(**kwargs):
    """MobileNet V2 training arg scope; see `mobilenet.training_scope` (weight_decay, stddev, dropout_keep_prob, bn_decay)."""
    return lib.training_scope(**kwargs)


__all__ = ["training_scope", "mobilenet_base", "mobilenet", "V2_DEF"]
