"""What upstream's Inception networks share (their arg scope), and layer helpers of V4 and Inception-ResNet-v2."""
from slim_compat import slim, tf


def batch_norm_arguments(decay, epsilon, updates_collections, scale):
    """The batch-norm arguments of upstream's Inception arg scopes (fused where possible)."""
    return {"decay": decay, "epsilon": epsilon, "updates_collections": updates_collections, "fused": None,
            "scale": scale}


def inception_arg_scope(weight_decay=0.00004, use_batch_norm=True, batch_norm_decay=0.9997,
                        batch_norm_epsilon=0.001, activation_fn=tf.nn.relu,
                        batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS, batch_norm_scale=False):
    """Returns the arg scope of the Inception networks.

    Args:
      weight_decay: L2 regularisation of the conv and fully connected weights.
      use_batch_norm: whether every convolution is followed by batch norm.
      batch_norm_decay: decay of the batch-norm moving averages.
      batch_norm_epsilon: added to the variance before dividing by it.
      activation_fn: activation of the convolutions.
      batch_norm_updates_collections: collection of the moving-average update ops.
      batch_norm_scale: whether batch norm learns a `gamma` multiplier (upstream's checkpoints have none).
    """
    batch_norm_params = batch_norm_arguments(batch_norm_decay, batch_norm_epsilon, batch_norm_updates_collections,
                                             batch_norm_scale)
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(weight_decay)):
        with slim.arg_scope([slim.conv2d], weights_initializer=slim.variance_scaling_initializer(),
                            activation_fn=activation_fn,
                            normalizer_fn=slim.batch_norm if use_batch_norm else None,
                            normalizer_params=batch_norm_params if use_batch_norm else {}) as scope:
            return scope


def concat_branches(net, *branches):
    """Applies each function of `branches` to `net` in scope Branch_<index>; concatenates the channels."""
    outputs = []
    for index, branch in enumerate(branches):
        with tf.variable_scope(f"Branch_{index}"):
            outputs.append(branch(net))
    return tf.concat(outputs, axis=3)


def conv_chain(net, *layers):
    """Applies `slim.conv2d` for each (depth, kernel, scope[, kwargs]) of `layers` in turn."""
    for depth, kernel, scope, *kwargs in layers:
        net = slim.conv2d(net, depth, kernel, scope=scope, **(kwargs[0] if kwargs else {}))
    return net


def global_average_pool(net, scope):
    """Averages `net` over its grid: an average pool named `scope` when the grid size is known."""
    kernel_size = net.get_shape()[1:3]
    if kernel_size.is_fully_defined():
        return slim.avg_pool2d(net, kernel_size, padding="VALID", scope=scope)
    return tf.reduce_mean(net, axis=[1, 2], keepdims=True, name="global_pool")


def add_logits(net, num_classes, end_points):
    """Adds the fully connected `Logits` layer on `net` and its softmax; records both in `end_points`."""
    logits = end_points["Logits"] = slim.fully_connected(net, num_classes, activation_fn=None, scope="Logits")
    end_points["Predictions"] = tf.nn.softmax(logits, name="Predictions")
    return logits
