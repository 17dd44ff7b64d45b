"""Inception V4 (Szegedy et al. 2016, arXiv:1602.07261) with the variable names of upstream's
published ImageNet checkpoint inception_v4.ckpt (scope `InceptionV4`).

Blocks are named as upstream's module names them: Mixed_3a..Mixed_5a (stem), Mixed_5b..e
(Inception-A), Mixed_6a (Reduction-A), Mixed_6b..h (Inception-B), Mixed_7a (Reduction-B) and
Mixed_7b..d (Inception-C); inside each, branches are `Branch_N` and layers `Conv2d_<id>_<kernel>`.
"""
import contextlib

from nets import inception_utils
from nets.inception_utils import add_logits, concat_branches, conv_chain, global_average_pool
from slim_compat import slim, tf


_REDUCE = {"stride": 2, "padding": "VALID"}


@contextlib.contextmanager
def _block_scope(scope, default_name, reuse):
    """Opens a block's variable scope, in which convolutions and pools default to stride 1, SAME padding."""
    with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d], stride=1, padding="SAME"), \
            tf.variable_scope(scope, default_name, reuse=reuse):
        yield


def block_inception_a(inputs, scope=None, reuse=None):
    """Inception-A block (35 x 35 grid): 384 output channels."""
    with _block_scope(scope, "BlockInceptionA", reuse):
        return concat_branches(
            inputs,
            lambda net: conv_chain(net, (96, [1, 1], "Conv2d_0a_1x1")),
            lambda net: conv_chain(net, (64, [1, 1], "Conv2d_0a_1x1"), (96, [3, 3], "Conv2d_0b_3x3")),
            lambda net: conv_chain(net, (64, [1, 1], "Conv2d_0a_1x1"), (96, [3, 3], "Conv2d_0b_3x3"),
                                   (96, [3, 3], "Conv2d_0c_3x3")),
            lambda net: conv_chain(slim.avg_pool2d(net, [3, 3], scope="AvgPool_0a_3x3"),
                                   (96, [1, 1], "Conv2d_0b_1x1")))


def block_reduction_a(inputs, scope=None, reuse=None):
    """Reduction-A block: 35 x 35 x 384 to 17 x 17 x 1024."""
    with _block_scope(scope, "BlockReductionA", reuse):
        return concat_branches(
            inputs,
            lambda net: conv_chain(net, (384, [3, 3], "Conv2d_1a_3x3", _REDUCE)),
            lambda net: conv_chain(net, (192, [1, 1], "Conv2d_0a_1x1"), (224, [3, 3], "Conv2d_0b_3x3"),
                                   (256, [3, 3], "Conv2d_1a_3x3", _REDUCE)),
            lambda net: slim.max_pool2d(net, [3, 3], scope="MaxPool_1a_3x3", **_REDUCE))


def block_inception_b(inputs, scope=None, reuse=None):
    """Inception-B block (17 x 17 grid): 1024 output channels."""
    with _block_scope(scope, "BlockInceptionB", reuse):
        return concat_branches(
            inputs,
            lambda net: conv_chain(net, (384, [1, 1], "Conv2d_0a_1x1")),
            lambda net: conv_chain(net, (192, [1, 1], "Conv2d_0a_1x1"), (224, [1, 7], "Conv2d_0b_1x7"),
                                   (256, [7, 1], "Conv2d_0c_7x1")),
            lambda net: conv_chain(net, (192, [1, 1], "Conv2d_0a_1x1"), (192, [7, 1], "Conv2d_0b_7x1"),
                                   (224, [1, 7], "Conv2d_0c_1x7"), (224, [7, 1], "Conv2d_0d_7x1"),
                                   (256, [1, 7], "Conv2d_0e_1x7")),
            lambda net: conv_chain(slim.avg_pool2d(net, [3, 3], scope="AvgPool_0a_3x3"),
                                   (128, [1, 1], "Conv2d_0b_1x1")))


def block_reduction_b(inputs, scope=None, reuse=None):
    """Reduction-B block: 17 x 17 x 1024 to 8 x 8 x 1536."""
    with _block_scope(scope, "BlockReductionB", reuse):
        return concat_branches(
            inputs,
            lambda net: conv_chain(net, (192, [1, 1], "Conv2d_0a_1x1"), (192, [3, 3], "Conv2d_1a_3x3", _REDUCE)),
            lambda net: conv_chain(net, (256, [1, 1], "Conv2d_0a_1x1"), (256, [1, 7], "Conv2d_0b_1x7"),
                                   (320, [7, 1], "Conv2d_0c_7x1"), (320, [3, 3], "Conv2d_1a_3x3", _REDUCE)),
            lambda net: slim.max_pool2d(net, [3, 3], scope="MaxPool_1a_3x3", **_REDUCE))


def _split_1x3_3x1(net, first_scope, second_scope):
    """The Inception-C fork: a 1x3 and a 3x1 convolution of `net`, 256 channels each, concatenated."""
    return tf.concat([slim.conv2d(net, 256, [1, 3], scope=first_scope),
                      slim.conv2d(net, 256, [3, 1], scope=second_scope)], axis=3)


def block_inception_c(inputs, scope=None, reuse=None):
    """Inception-C block (8 x 8 grid): 1536 output channels."""
    with _block_scope(scope, "BlockInceptionC", reuse):
        return concat_branches(
            inputs,
            lambda net: conv_chain(net, (256, [1, 1], "Conv2d_0a_1x1")),
            lambda net: _split_1x3_3x1(conv_chain(net, (384, [1, 1], "Conv2d_0a_1x1")),
                                       "Conv2d_0b_1x3", "Conv2d_0c_3x1"),
            lambda net: _split_1x3_3x1(conv_chain(net, (384, [1, 1], "Conv2d_0a_1x1"),
                                                  (448, [3, 1], "Conv2d_0b_3x1"), (512, [1, 3], "Conv2d_0c_1x3")),
                                       "Conv2d_0d_1x3", "Conv2d_0e_3x1"),
            lambda net: conv_chain(slim.avg_pool2d(net, [3, 3], scope="AvgPool_0a_3x3"),
                                   (256, [1, 1], "Conv2d_0b_1x1")))


def _stem_mixed_3a(net, scope):
    with tf.variable_scope(scope):
        return concat_branches(net, lambda x: slim.max_pool2d(x, [3, 3], scope="MaxPool_0a_3x3", **_REDUCE),
                               lambda x: conv_chain(x, (96, [3, 3], "Conv2d_0a_3x3", _REDUCE)))


def _stem_mixed_4a(net, scope):
    valid = {"padding": "VALID"}
    with tf.variable_scope(scope):
        return concat_branches(
            net,
            lambda x: conv_chain(x, (64, [1, 1], "Conv2d_0a_1x1"), (96, [3, 3], "Conv2d_1a_3x3", valid)),
            lambda x: conv_chain(x, (64, [1, 1], "Conv2d_0a_1x1"), (64, [1, 7], "Conv2d_0b_1x7"),
                                 (64, [7, 1], "Conv2d_0c_7x1"), (96, [3, 3], "Conv2d_1a_3x3", valid)))


def _stem_mixed_5a(net, scope):
    with tf.variable_scope(scope):
        return concat_branches(net, lambda x: conv_chain(x, (192, [3, 3], "Conv2d_1a_3x3", _REDUCE)),
                               lambda x: slim.max_pool2d(x, [3, 3], scope="MaxPool_1a_3x3", **_REDUCE))


# (end point, layer(net, scope)) of the network up to Mixed_7d, in order.
_BASE_LAYERS = (
    ("Conv2d_1a_3x3", lambda net, scope: slim.conv2d(net, 32, [3, 3], scope=scope, **_REDUCE)),
    ("Conv2d_2a_3x3", lambda net, scope: slim.conv2d(net, 32, [3, 3], padding="VALID", scope=scope)),
    ("Conv2d_2b_3x3", lambda net, scope: slim.conv2d(net, 64, [3, 3], scope=scope)),
    ("Mixed_3a", _stem_mixed_3a),
    ("Mixed_4a", _stem_mixed_4a),
    ("Mixed_5a", _stem_mixed_5a),
    *((f"Mixed_5{letter}", block_inception_a) for letter in "bcde"),
    ("Mixed_6a", block_reduction_a),
    *((f"Mixed_6{letter}", block_inception_b) for letter in "bcdefgh"),
    ("Mixed_7a", block_reduction_b),
    *((f"Mixed_7{letter}", block_inception_c) for letter in "bcd"),
)
BASE_END_POINTS = tuple(name for name, _ in _BASE_LAYERS)


def inception_v4_base(inputs, final_endpoint="Mixed_7d", scope=None):
    """Builds Inception V4 from `inputs` up to `final_endpoint` (one of BASE_END_POINTS).

    Returns:
      (the final end point's tensor, {end point name: tensor} of every end point built).

    Raises:
      ValueError: `final_endpoint` is not an end point of the network.
    """
    if final_endpoint not in BASE_END_POINTS:
        raise ValueError(f"Unknown final endpoint {final_endpoint}")
    end_points = {}
    with tf.variable_scope(scope, "InceptionV4", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
            net = inputs
            for name, layer in _BASE_LAYERS:
                net = end_points[name] = layer(net, name)
                if name == final_endpoint:
                    return net, end_points


def _aux_logits(mixed_6h, num_classes):
    """The auxiliary classifier on the 17 x 17 grid."""
    with tf.variable_scope("AuxLogits"):
        net = slim.avg_pool2d(mixed_6h, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5")
        net = slim.conv2d(net, 128, [1, 1], scope="Conv2d_1b_1x1")
        net = slim.conv2d(net, 768, net.get_shape()[1:3], padding="VALID", scope="Conv2d_2a")
        return slim.fully_connected(slim.flatten(net), num_classes, activation_fn=None, scope="Aux_logits")


def inception_v4(inputs, num_classes=1001, is_training=True, dropout_keep_prob=0.8, reuse=None,
                 scope="InceptionV4", create_aux_logits=True):
    """Builds Inception V4 (default input 299 x 299).

    Args:
      inputs: [batch, height, width, 3] images.
      num_classes: classes of the logits; 0 or None returns the pooled features (before dropout).
      is_training: batch norm and dropout in training mode.
      dropout_keep_prob: fraction of features kept by the dropout before the logits.
      reuse: whether to reuse the variables of `scope`.
      scope: variable scope of the network.
      create_aux_logits: whether to add the auxiliary classifier (`end_points['AuxLogits']`).

    Returns:
      (logits [batch, num_classes], or the [batch, 1, 1, 1536] pooled features without classes;
      end points by name).
    """
    with tf.variable_scope(scope, "InceptionV4", [inputs], reuse=reuse) as scope:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v4_base(inputs, scope=scope)
            with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
                if create_aux_logits and num_classes:
                    end_points["AuxLogits"] = _aux_logits(end_points["Mixed_6h"], num_classes)
                with tf.variable_scope("Logits"):
                    net = end_points["global_pool"] = global_average_pool(net, "AvgPool_1a")
                    if not num_classes:
                        return net, end_points
                    net = slim.dropout(net, dropout_keep_prob, scope="Dropout_1b")
                    net = end_points["PreLogitsFlatten"] = slim.flatten(net, scope="PreLogitsFlatten")
                    logits = add_logits(net, num_classes, end_points)
    return logits, end_points


inception_v4.default_image_size = 299

inception_v4_arg_scope = inception_utils.inception_arg_scope
