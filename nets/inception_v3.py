"""Inception V3 at upstream's module path (`from nets import inception_v3`).

The trunk (`inception_v3_base`) and the arg scope are tf-slim's. `inception_v3` is tf-slim's with its
two heads made to take any image size the trunk accepts: tf-slim pools them with windows that leave a
1x1 grid only near 299 pixels (at 512 the auxiliary head's 5x5 convolution leaves 5x5 and the main
head's 8x8 pool 4x4, and squeezing them fails). Here the main head averages its whole grid, and the
auxiliary head averages the grid its 5x5 convolution leaves before its 1x1 classifier (as torchvision's
InceptionAux does). Variable names and shapes stay those of the official inception_v3.ckpt, so it
restores at any size. Up to 330 pixels the graph is tf-slim's, op for op (from 331 its main head
averaged only the top-left 8x8 of a 9x9 grid).
"""
from nets.inception_utils import global_average_pool
from slim_compat import slim, tf
from tf_slim.nets.inception_v3 import inception_v3_arg_scope, inception_v3_base

__all__ = ["inception_v3", "inception_v3_arg_scope", "inception_v3_base"]

# Kernel of the auxiliary head's second convolution in the official checkpoint (Conv2d_2a_5x5).
AUX_KERNEL_SIZE = (5, 5)


def _trunc_normal(stddev):
    return tf.truncated_normal_initializer(0.0, stddev)


def _grid_size(net):
    """[height, width] of `net`'s grid, None where unknown when the graph is built."""
    return net.get_shape().as_list()[1:3]


def _aux_logits(mixed_6e, num_classes, depth, spatial_squeeze):
    """The auxiliary classifier on Mixed_6e, tf-slim's layers and names; returns its logits."""
    with tf.variable_scope("AuxLogits"):
        net = slim.avg_pool2d(mixed_6e, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5")
        net = slim.conv2d(net, depth(128), [1, 1], scope="Conv2d_1b_1x1")
        # Below 299 pixels the grid is smaller than 5x5 and the kernel shrinks to it, as in tf-slim.
        kernel_size = [min(side, kernel) if side else kernel
                       for side, kernel in zip(_grid_size(net), AUX_KERNEL_SIZE)]
        net = slim.conv2d(net, depth(768), kernel_size, weights_initializer=_trunc_normal(0.01), padding="VALID",
                          scope="Conv2d_2a_{}x{}".format(*kernel_size))
        if _grid_size(net) != [1, 1]:
            net = global_average_pool(net, "AvgPool_2a")
        logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                             weights_initializer=_trunc_normal(0.001), scope="Conv2d_2b_1x1")
        if spatial_squeeze:
            logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
        return logits


def inception_v3(inputs, num_classes=1000, is_training=True, dropout_keep_prob=0.8, min_depth=16,
                 depth_multiplier=1.0, prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
                 create_aux_logits=True, scope="InceptionV3"):
    """Builds Inception V3 (http://arxiv.org/abs/1512.00567; default input 299 x 299) at any input size.

    Args:
      inputs: [batch, height, width, 3] images, at least 107 x 107 with the auxiliary head.
      num_classes: classes of the logits; 0 or None returns the pooled features.
      is_training: batch norm and dropout in training mode.
      dropout_keep_prob: fraction of features kept by the dropout before the logits.
      min_depth: smallest depth of any convolution when `depth_multiplier` < 1.
      depth_multiplier: multiplies the depth of every convolution.
      prediction_fn: turns the logits into `end_points['Predictions']`.
      spatial_squeeze: whether logits are [batch, classes] rather than [batch, 1, 1, classes].
      reuse: whether to reuse the variables of `scope`.
      create_aux_logits: whether to add the auxiliary classifier (`end_points['AuxLogits']`).
      scope: variable scope of the network.

    Returns:
      (logits, or the [batch, 1, 1, 2048] pooled features without classes; end points by name).

    Raises:
      ValueError: if `depth_multiplier` is not positive.
    """
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")

    def depth(channels):
        return max(int(channels * depth_multiplier), min_depth)

    with tf.variable_scope(scope, "InceptionV3", [inputs, num_classes], reuse=reuse) as scope:
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net, end_points = inception_v3_base(inputs, scope=scope, min_depth=min_depth,
                                                depth_multiplier=depth_multiplier)
            if create_aux_logits and num_classes:
                with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1, padding="SAME"):
                    end_points["AuxLogits"] = _aux_logits(end_points["Mixed_6e"], num_classes, depth,
                                                          spatial_squeeze)
            with tf.variable_scope("Logits"):
                grid = _grid_size(net)
                net = global_average_pool(net, "AvgPool_1a_{}x{}".format(*grid) if all(grid) else "AvgPool_1a")
                if not num_classes:
                    return net, end_points
                net = end_points["PreLogits"] = slim.dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
                logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                                     scope="Conv2d_1c_1x1")
                if spatial_squeeze:
                    logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
            end_points["Logits"] = logits
            end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


inception_v3.default_image_size = 299
