"""Inception-ResNet-v2 (Szegedy et al. 2016, arXiv:1602.07261) with the variable names of upstream's
published ImageNet checkpoint inception_resnet_v2_2016_08_30.ckpt (scope `InceptionResnetV2`).

The residual blocks repeat as upstream's module repeats them with `slim.repeat`, which fixes their
checkpoint names: Repeat/block35_1..10, Repeat_1/block17_1..20, Repeat_2/block8_1..9, then Block8.
"""
from nets.inception_utils import (add_logits, batch_norm_arguments, concat_branches, conv_chain,
                                  global_average_pool)
from slim_compat import slim, tf

BASE_END_POINTS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_3a_3x3", "Conv2d_3b_1x1",
                   "Conv2d_4a_3x3", "MaxPool_5a_3x3", "Mixed_5b", "Mixed_6a", "PreAuxLogits", "Mixed_7a",
                   "Conv2d_7b_1x1")


def _residual(net, mixed, scale, activation_fn):
    """Adds the 1x1 projection of `mixed` (back to `net`'s depth), scaled by `scale`, to `net`."""
    up = slim.conv2d(mixed, net.get_shape()[3], 1, normalizer_fn=None, activation_fn=None, scope="Conv2d_1x1")
    scaled_up = up * scale
    if activation_fn == tf.nn.relu6:
        # Keeps the sum inside relu6's band.
        scaled_up = tf.clip_by_value(scaled_up, -6.0, 6.0)
    net += scaled_up
    return activation_fn(net) if activation_fn else net


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
    """The residual Inception block of the 35 x 35 grid."""
    with tf.variable_scope(scope, "Block35", [net], reuse=reuse):
        mixed = concat_branches(
            net,
            lambda x: conv_chain(x, (32, 1, "Conv2d_1x1")),
            lambda x: conv_chain(x, (32, 1, "Conv2d_0a_1x1"), (32, 3, "Conv2d_0b_3x3")),
            lambda x: conv_chain(x, (32, 1, "Conv2d_0a_1x1"), (48, 3, "Conv2d_0b_3x3"), (64, 3, "Conv2d_0c_3x3")))
        return _residual(net, mixed, scale, activation_fn)


def block17(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
    """The residual Inception block of the 17 x 17 grid."""
    with tf.variable_scope(scope, "Block17", [net], reuse=reuse):
        mixed = concat_branches(
            net,
            lambda x: conv_chain(x, (192, 1, "Conv2d_1x1")),
            lambda x: conv_chain(x, (128, 1, "Conv2d_0a_1x1"), (160, [1, 7], "Conv2d_0b_1x7"),
                                 (192, [7, 1], "Conv2d_0c_7x1")))
        return _residual(net, mixed, scale, activation_fn)


def block8(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
    """The residual Inception block of the 8 x 8 grid."""
    with tf.variable_scope(scope, "Block8", [net], reuse=reuse):
        mixed = concat_branches(
            net,
            lambda x: conv_chain(x, (192, 1, "Conv2d_1x1")),
            lambda x: conv_chain(x, (192, 1, "Conv2d_0a_1x1"), (224, [1, 3], "Conv2d_0b_1x3"),
                                 (256, [3, 1], "Conv2d_0c_3x1")))
        return _residual(net, mixed, scale, activation_fn)


def _mixed_5b(net):
    with tf.variable_scope("Mixed_5b"):
        return concat_branches(
            net,
            lambda x: conv_chain(x, (96, 1, "Conv2d_1x1")),
            lambda x: conv_chain(x, (48, 1, "Conv2d_0a_1x1"), (64, 5, "Conv2d_0b_5x5")),
            lambda x: conv_chain(x, (64, 1, "Conv2d_0a_1x1"), (96, 3, "Conv2d_0b_3x3"), (96, 3, "Conv2d_0c_3x3")),
            lambda x: conv_chain(slim.avg_pool2d(x, 3, stride=1, padding="SAME", scope="AvgPool_0a_3x3"),
                                 (64, 1, "Conv2d_0b_1x1")))


def _mixed_6a(net, padding, stride):
    reduce = {"stride": stride, "padding": padding}
    with tf.variable_scope("Mixed_6a"):
        return concat_branches(
            net,
            lambda x: conv_chain(x, (384, 3, "Conv2d_1a_3x3", reduce)),
            lambda x: conv_chain(x, (256, 1, "Conv2d_0a_1x1"), (256, 3, "Conv2d_0b_3x3"),
                                 (384, 3, "Conv2d_1a_3x3", reduce)),
            lambda x: slim.max_pool2d(x, 3, scope="MaxPool_1a_3x3", **reduce))


def _mixed_7a(net, padding):
    reduce = {"stride": 2, "padding": padding}
    with tf.variable_scope("Mixed_7a"):
        return concat_branches(
            net,
            lambda x: conv_chain(x, (256, 1, "Conv2d_0a_1x1"), (384, 3, "Conv2d_1a_3x3", reduce)),
            lambda x: conv_chain(x, (256, 1, "Conv2d_0a_1x1"), (288, 3, "Conv2d_1a_3x3", reduce)),
            lambda x: conv_chain(x, (256, 1, "Conv2d_0a_1x1"), (288, 3, "Conv2d_0b_3x3"),
                                 (320, 3, "Conv2d_1a_3x3", reduce)),
            lambda x: slim.max_pool2d(x, 3, scope="MaxPool_1a_3x3", **reduce))


def _base_layers(padding, output_stride, activation_fn):
    """(end point, layer(net)) of the network up to Conv2d_7b_1x1, in order."""
    # With output stride 8, the 17 x 17 stage keeps the 35 x 35 grid and dilates its convolutions.
    atrous = output_stride == 8

    def repeat(net, count, block, scale):
        return slim.repeat(net, count, block, scale=scale, activation_fn=activation_fn)

    def mixed_6a(net):
        return _mixed_6a(repeat(net, 10, block35, 0.17), padding, stride=1 if atrous else 2)

    def pre_aux_logits(net):
        with slim.arg_scope([slim.conv2d], rate=2 if atrous else 1):
            return repeat(net, 20, block17, 0.10)

    def conv2d_7b_1x1(net):
        net = block8(repeat(net, 9, block8, 0.20), activation_fn=None)
        return slim.conv2d(net, 1536, 1, scope="Conv2d_7b_1x1")

    return (
        ("Conv2d_1a_3x3", lambda net: slim.conv2d(net, 32, 3, stride=2, padding=padding, scope="Conv2d_1a_3x3")),
        ("Conv2d_2a_3x3", lambda net: slim.conv2d(net, 32, 3, padding=padding, scope="Conv2d_2a_3x3")),
        ("Conv2d_2b_3x3", lambda net: slim.conv2d(net, 64, 3, scope="Conv2d_2b_3x3")),
        ("MaxPool_3a_3x3", lambda net: slim.max_pool2d(net, 3, stride=2, padding=padding, scope="MaxPool_3a_3x3")),
        ("Conv2d_3b_1x1", lambda net: slim.conv2d(net, 80, 1, padding=padding, scope="Conv2d_3b_1x1")),
        ("Conv2d_4a_3x3", lambda net: slim.conv2d(net, 192, 3, padding=padding, scope="Conv2d_4a_3x3")),
        ("MaxPool_5a_3x3", lambda net: slim.max_pool2d(net, 3, stride=2, padding=padding, scope="MaxPool_5a_3x3")),
        ("Mixed_5b", _mixed_5b),
        ("Mixed_6a", mixed_6a),
        ("PreAuxLogits", pre_aux_logits),
        ("Mixed_7a", lambda net: _mixed_7a(net, padding)),
        ("Conv2d_7b_1x1", conv2d_7b_1x1),
    )


def inception_resnet_v2_base(inputs, final_endpoint="Conv2d_7b_1x1", output_stride=16, align_feature_maps=False,
                             scope=None, activation_fn=tf.nn.relu):
    """Builds Inception-ResNet-v2 from `inputs` up to `final_endpoint` (one of BASE_END_POINTS).

    Args:
      inputs: [batch, height, width, channels] images.
      final_endpoint: the last end point to build.
      output_stride: 16, or 8 (only up to PreAuxLogits): the ratio of input to output grid size.
      align_feature_maps: SAME instead of VALID padding everywhere, so grids halve exactly.
      scope: variable scope of the network.
      activation_fn: activation of the residual blocks.

    Returns:
      (the final end point's tensor, {end point name: tensor} of every end point built).

    Raises:
      ValueError: an unknown `final_endpoint`, an `output_stride` other than 8 or 16, or
        output stride 8 with an end point after PreAuxLogits.
    """
    if output_stride not in (8, 16):
        raise ValueError("output_stride must be 8 or 16.")
    if final_endpoint not in BASE_END_POINTS:
        raise ValueError(f"final_endpoint ({final_endpoint}) not recognized")
    if output_stride == 8 and BASE_END_POINTS.index(final_endpoint) > BASE_END_POINTS.index("PreAuxLogits"):
        raise ValueError("output_stride==8 is only supported up to the PreAuxlogits end_point for now.")
    padding = "SAME" if align_feature_maps else "VALID"
    end_points = {}
    with tf.variable_scope(scope, "InceptionResnetV2", [inputs]):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
            net = inputs
            for name, layer in _base_layers(padding, output_stride, activation_fn):
                net = end_points[name] = layer(net)
                if name == final_endpoint:
                    return net, end_points


def _aux_logits(pre_aux_logits, num_classes):
    """The auxiliary classifier on the 17 x 17 grid."""
    with tf.variable_scope("AuxLogits"):
        net = slim.avg_pool2d(pre_aux_logits, 5, stride=3, padding="VALID", scope="Conv2d_1a_3x3")
        net = slim.conv2d(net, 128, 1, scope="Conv2d_1b_1x1")
        net = slim.conv2d(net, 768, net.get_shape()[1:3], padding="VALID", scope="Conv2d_2a_5x5")
        return slim.fully_connected(slim.flatten(net), num_classes, activation_fn=None, scope="Logits")


def inception_resnet_v2(inputs, num_classes=1001, is_training=True, dropout_keep_prob=0.8, reuse=None,
                        scope="InceptionResnetV2", create_aux_logits=True, activation_fn=tf.nn.relu):
    """Builds Inception-ResNet-v2 (default input 299 x 299).

    Args:
      inputs: [batch, height, width, 3] images; without aux logits height and width may be unknown.
      num_classes: classes of the logits; 0 or None returns the pooled features (before dropout).
      is_training: batch norm and dropout in training mode.
      dropout_keep_prob: fraction of features kept by the dropout before the logits.
      reuse: whether to reuse the variables of `scope`.
      scope: variable scope of the network.
      create_aux_logits: whether to add the auxiliary classifier (`end_points['AuxLogits']`).
      activation_fn: activation of the residual blocks.

    Returns:
      (logits [batch, num_classes], or the [batch, 1, 1, 1536] pooled features without classes;
      end points by name).
    """
    with tf.variable_scope(scope, "InceptionResnetV2", [inputs], reuse=reuse) as scope:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_resnet_v2_base(inputs, scope=scope, activation_fn=activation_fn)
            if create_aux_logits and num_classes:
                end_points["AuxLogits"] = _aux_logits(end_points["PreAuxLogits"], num_classes)
            with tf.variable_scope("Logits"):
                net = end_points["global_pool"] = global_average_pool(net, "AvgPool_1a_8x8")
                if not num_classes:
                    return net, end_points
                net = slim.dropout(slim.flatten(net), dropout_keep_prob, scope="Dropout")
                end_points["PreLogitsFlatten"] = net
                logits = add_logits(net, num_classes, end_points)
    return logits, end_points


inception_resnet_v2.default_image_size = 299


def inception_resnet_v2_arg_scope(weight_decay=0.00004, batch_norm_decay=0.9997, batch_norm_epsilon=0.001,
                                  activation_fn=tf.nn.relu,
                                  batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS, batch_norm_scale=False):
    """Returns the arg scope of Inception-ResNet-v2: L2-regularised weights and biases, batch norm after convolutions.

    Args:
      weight_decay: L2 regularisation of the conv and fully connected weights and biases.
      batch_norm_decay: decay of the batch-norm moving averages.
      batch_norm_epsilon: added to the variance before dividing by it.
      activation_fn: activation of the convolutions.
      batch_norm_updates_collections: collection of the moving-average update ops.
      batch_norm_scale: whether batch norm learns a `gamma` multiplier (upstream's checkpoint has none).
    """
    batch_norm_params = batch_norm_arguments(batch_norm_decay, batch_norm_epsilon, batch_norm_updates_collections,
                                             batch_norm_scale)
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(weight_decay),
                        biases_regularizer=slim.l2_regularizer(weight_decay)):
        with slim.arg_scope([slim.conv2d], activation_fn=activation_fn, normalizer_fn=slim.batch_norm,
                            normalizer_params=batch_norm_params) as scope:
            return scope
