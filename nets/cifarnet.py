"""CifarNet: the small CIFAR-10 network of TF-Slim (two conv + LRN blocks, three dense layers).

Scope `CifarNet`; variables conv1, conv2, fc3, fc4, logits as in upstream's
`nets/cifarnet.py`, so its checkpoints restore unchanged.
"""
from slim_compat import slim, tf


def _local_response_norm(net, name):
    return tf.nn.lrn(net, depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name=name)


def cifarnet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5, prediction_fn=slim.softmax,
             scope="CifarNet"):
    """Builds CifarNet on `images` [batch, height, width, channels].

    Args:
      images: input batch.
      num_classes: size of the logits layer; 0 or None returns the 192-wide
        features that feed it instead.
      is_training: whether dropout is active.
      dropout_keep_prob: keep probability of the dropout after fc3.
      prediction_fn: turns logits into `end_points['Predictions']`.
      scope: variable scope of the network.

    Returns:
      (logits, end_points), or (features, end_points) without classes.
    """
    end_points = {}
    with tf.variable_scope(scope, "CifarNet", [images]):
        net = end_points["conv1"] = slim.conv2d(images, 64, [5, 5], scope="conv1")
        net = end_points["pool1"] = slim.max_pool2d(net, [2, 2], 2, scope="pool1")
        net = _local_response_norm(net, "norm1")
        net = end_points["conv2"] = slim.conv2d(net, 64, [5, 5], scope="conv2")
        net = _local_response_norm(net, "norm2")
        net = end_points["pool2"] = slim.max_pool2d(net, [2, 2], 2, scope="pool2")
        net = end_points["Flatten"] = slim.flatten(net)
        net = end_points["fc3"] = slim.fully_connected(net, 384, scope="fc3")
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout3")
        net = end_points["fc4"] = slim.fully_connected(net, 192, scope="fc4")
        if not num_classes:
            return net, end_points
        logits = end_points["Logits"] = slim.fully_connected(
            net, num_classes, activation_fn=None, weights_regularizer=None,
            weights_initializer=tf.truncated_normal_initializer(stddev=1 / 192.0),
            biases_initializer=tf.zeros_initializer(), scope="logits")
        end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


cifarnet.default_image_size = 32


def cifarnet_arg_scope(weight_decay=0.004):
    """Arg scope of CifarNet: ReLU everywhere, L2 decay on the dense layers only."""
    with slim.arg_scope([slim.conv2d], activation_fn=tf.nn.relu,
                        weights_initializer=tf.truncated_normal_initializer(stddev=5e-2)):
        with slim.arg_scope([slim.fully_connected], activation_fn=tf.nn.relu,
                            weights_initializer=tf.truncated_normal_initializer(stddev=0.04),
                            biases_initializer=tf.constant_initializer(0.1),
                            weights_regularizer=slim.l2_regularizer(weight_decay)) as scope:
            return scope
