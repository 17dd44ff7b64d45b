"""LeNet: the small MNIST network of TF-Slim (two conv/pool blocks, two dense layers).

Scope `LeNet`; variables conv1, conv2, fc3, fc4 as in upstream's `nets/lenet.py`.
"""
from slim_compat import slim, tf


def lenet(images, num_classes=10, is_training=False, dropout_keep_prob=0.5, prediction_fn=slim.softmax,
          scope="LeNet"):
    """Builds LeNet on `images` [batch, height, width, channels].

    Args:
      images: input batch.
      num_classes: size of the logits layer; 0 or None returns the 1024-wide
        fc3 features (before dropout) instead.
      is_training: whether dropout is active.
      dropout_keep_prob: keep probability of the dropout after fc3.
      prediction_fn: turns logits into `end_points['Predictions']`.
      scope: variable scope of the network.

    Returns:
      (logits, end_points), or (features, end_points) without classes.
    """
    end_points = {}
    with tf.variable_scope(scope, "LeNet", [images]):
        net = end_points["conv1"] = slim.conv2d(images, 32, [5, 5], scope="conv1")
        net = end_points["pool1"] = slim.max_pool2d(net, [2, 2], 2, scope="pool1")
        net = end_points["conv2"] = slim.conv2d(net, 64, [5, 5], scope="conv2")
        net = end_points["pool2"] = slim.max_pool2d(net, [2, 2], 2, scope="pool2")
        net = end_points["Flatten"] = slim.flatten(net)
        net = end_points["fc3"] = slim.fully_connected(net, 1024, scope="fc3")
        if not num_classes:
            return net, end_points
        net = end_points["dropout3"] = slim.dropout(net, dropout_keep_prob, is_training=is_training,
                                                    scope="dropout3")
        logits = end_points["Logits"] = slim.fully_connected(net, num_classes, activation_fn=None, scope="fc4")
    end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


lenet.default_image_size = 28


def lenet_arg_scope(weight_decay=0.0):
    """Arg scope of LeNet: ReLU, truncated-normal(0.1) weights, L2 decay."""
    with slim.arg_scope([slim.conv2d, slim.fully_connected], activation_fn=tf.nn.relu,
                        weights_initializer=tf.truncated_normal_initializer(stddev=0.1),
                        weights_regularizer=slim.l2_regularizer(weight_decay)) as scope:
        return scope
