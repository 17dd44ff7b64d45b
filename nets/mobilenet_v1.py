"""MobileNet V1 (Howard et al. 2017, https://arxiv.org/abs/1704.04861), as upstream TF-Slim builds it.

A 3x3 stem convolution `Conv2d_0` and 13 depthwise-separable layers, each a 3x3
depthwise convolution `Conv2d_<i>_depthwise` and a 1x1 convolution `Conv2d_<i>_pointwise`,
then `Logits/Conv2d_1c_1x1`; all under `MobilenetV1/`, so the published
`mobilenet_v1_<multiplier>_<size>.ckpt` files restore.
"""
import collections

from nets.mobilenet.conv_blocks import _fixed_padding
from nets.mobilenet.mobilenet import wrapped_partial
from slim_compat import slim, tf

# A layer of the body: `Conv` a full convolution, `DepthSepConv` a depthwise one followed
# by a 1x1 convolution; `depth` is the number of output channels before the multiplier.
Conv = collections.namedtuple("Conv", ["kernel", "stride", "depth"])
DepthSepConv = collections.namedtuple("DepthSepConv", ["kernel", "stride", "depth"])

MOBILENETV1_CONV_DEFS = [
    Conv(kernel=[3, 3], stride=2, depth=32),
    DepthSepConv(kernel=[3, 3], stride=1, depth=64),
    DepthSepConv(kernel=[3, 3], stride=2, depth=128),
    DepthSepConv(kernel=[3, 3], stride=1, depth=128),
    DepthSepConv(kernel=[3, 3], stride=2, depth=256),
    DepthSepConv(kernel=[3, 3], stride=1, depth=256),
    DepthSepConv(kernel=[3, 3], stride=2, depth=512),
    *[DepthSepConv(kernel=[3, 3], stride=1, depth=512) for _ in range(5)],
    DepthSepConv(kernel=[3, 3], stride=2, depth=1024),
    DepthSepConv(kernel=[3, 3], stride=1, depth=1024),
]


def mobilenet_v1_base(inputs, final_endpoint="Conv2d_13_pointwise", min_depth=8, depth_multiplier=1.0,
                      conv_defs=None, output_stride=None, use_explicit_padding=False, scope=None):
    """MobileNet V1 from `inputs` up to `final_endpoint`.

    Args:
      inputs: [batch, height, width, channels] images.
      final_endpoint: last layer built: 'Conv2d_0', or 'Conv2d_<i>_depthwise' / 'Conv2d_<i>_pointwise'.
      min_depth: smallest depth once multiplied (binding only when depth_multiplier < 1).
      depth_multiplier: scales every layer's depth (> 0).
      conv_defs: list of `Conv`/`DepthSepConv` (default MOBILENETV1_CONV_DEFS).
      output_stride: 8, 16 or 32: once reached, later strides become atrous rates.
      use_explicit_padding: pad explicitly and convolve with 'VALID'.
      scope: variable scope (default 'MobilenetV1').

    Returns:
      (output of `final_endpoint`, end points dict).

    Raises:
      ValueError: unknown final_endpoint or layer type, depth_multiplier <= 0, output_stride not 8, 16 or 32.
    """
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    if output_stride is not None and output_stride not in (8, 16, 32):
        raise ValueError("Only allowed output_stride values are 8, 16, 32.")

    def depth(channels):
        return max(int(channels * depth_multiplier), min_depth)

    end_points = {}
    padding = "VALID" if use_explicit_padding else "SAME"
    with tf.variable_scope(scope, "MobilenetV1", [inputs]), \
            slim.arg_scope([slim.conv2d, slim.separable_conv2d], padding=padding):
        stride_so_far, rate = 1, 1
        net = inputs
        for index, layer in enumerate(conv_defs or MOBILENETV1_CONV_DEFS):
            if output_stride is not None and stride_so_far == output_stride:
                layer_stride, layer_rate = 1, rate
                rate *= layer.stride
            else:
                layer_stride, layer_rate = layer.stride, 1
                stride_so_far *= layer.stride

            if isinstance(layer, Conv):
                if use_explicit_padding:
                    net = _fixed_padding(net, layer.kernel)
                end_point = f"Conv2d_{index}"
                net = slim.conv2d(net, depth(layer.depth), layer.kernel, stride=layer.stride,
                                  normalizer_fn=slim.batch_norm, scope=end_point)
                end_points[end_point] = net
                if end_point == final_endpoint:
                    return net, end_points
            elif isinstance(layer, DepthSepConv):
                if use_explicit_padding:
                    net = _fixed_padding(net, layer.kernel, layer_rate)
                end_point = f"Conv2d_{index}_depthwise"
                # No output depth: separable_conv2d builds only the depthwise convolution.
                net = slim.separable_conv2d(net, None, layer.kernel, depth_multiplier=1, stride=layer_stride,
                                            rate=layer_rate, normalizer_fn=slim.batch_norm, scope=end_point)
                end_points[end_point] = net
                if end_point == final_endpoint:
                    return net, end_points
                end_point = f"Conv2d_{index}_pointwise"
                net = slim.conv2d(net, depth(layer.depth), [1, 1], stride=1, normalizer_fn=slim.batch_norm,
                                  scope=end_point)
                end_points[end_point] = net
                if end_point == final_endpoint:
                    return net, end_points
            else:
                raise ValueError(f"Unknown convolution type {type(layer).__name__} for layer {index}")
    raise ValueError(f"Unknown final endpoint {final_endpoint}")


def mobilenet_v1(inputs, num_classes=1000, dropout_keep_prob=0.999, is_training=True, min_depth=8,
                 depth_multiplier=1.0, conv_defs=None, prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
                 scope="MobilenetV1", global_pool=False):
    """MobileNet V1 classifier.

    Args:
      inputs: [batch, height, width, channels] images.
      num_classes: classifier width; 0 or None returns the pooled features instead of logits.
      dropout_keep_prob: keep probability of the dropout before the classifier.
      is_training: batch-norm and dropout mode.
      min_depth, depth_multiplier, conv_defs: see `mobilenet_v1_base`.
      prediction_fn: turns logits into end point 'Predictions'.
      spatial_squeeze: logits [batch, classes] instead of [batch, 1, 1, classes].
      reuse: reuse the variables of `scope`.
      scope: variable scope.
      global_pool: average over the whole feature map (any input size gives 1x1) instead of a 7x7 window.

    Returns:
      (logits, or the pooled features without classifier; end points dict).

    Raises:
      ValueError: inputs not of rank 4.
    """
    rank = len(inputs.get_shape().as_list())
    if rank != 4:
        raise ValueError(f"Invalid input tensor rank, expected 4, was: {rank}")
    with tf.variable_scope(scope, "MobilenetV1", [inputs], reuse=reuse) as var_scope, \
            slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
        net, end_points = mobilenet_v1_base(inputs, scope=var_scope, min_depth=min_depth,
                                            depth_multiplier=depth_multiplier, conv_defs=conv_defs)
        with tf.variable_scope("Logits"):
            if global_pool:
                net = tf.reduce_mean(net, [1, 2], keepdims=True, name="global_pool")
                end_points["global_pool"] = net
            else:
                kernel_size = _reduced_kernel_size_for_small_input(net, [7, 7])
                net = slim.avg_pool2d(net, kernel_size, padding="VALID", scope="AvgPool_1a")
                end_points["AvgPool_1a"] = net
            if not num_classes:
                return net, end_points
            net = slim.dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
            logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                                 scope="Conv2d_1c_1x1")
            if spatial_squeeze:
                logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
        end_points["Logits"] = logits
        if prediction_fn:
            end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


mobilenet_v1.default_image_size = 224

mobilenet_v1_075 = wrapped_partial(mobilenet_v1, depth_multiplier=0.75)
mobilenet_v1_050 = wrapped_partial(mobilenet_v1, depth_multiplier=0.50)
mobilenet_v1_025 = wrapped_partial(mobilenet_v1, depth_multiplier=0.25)


def _reduced_kernel_size_for_small_input(input_tensor, kernel_size):
    """`kernel_size` capped by the input's height and width (unchanged when they are unknown)."""
    height, width = input_tensor.get_shape().as_list()[1:3]
    if height is None or width is None:
        return kernel_size
    return [min(height, kernel_size[0]), min(width, kernel_size[1])]


def mobilenet_v1_arg_scope(is_training=True, weight_decay=0.00004, stddev=0.09, regularize_depthwise=False,
                           batch_norm_decay=0.9997, batch_norm_epsilon=0.001,
                           batch_norm_updates_collections=tf.GraphKeys.UPDATE_OPS, normalizer_fn=slim.batch_norm):
    """The default MobileNet V1 arg scope.

    Args:
      is_training: batch-norm mode; None leaves it unset.
      weight_decay: L2 weight of the convolutions.
      stddev: deviation of the truncated-normal initialiser.
      regularize_depthwise: also regularise the depthwise convolutions.
      batch_norm_decay: moving-average decay of batch norm.
      batch_norm_epsilon: added to the variance.
      batch_norm_updates_collections: collection of the moving-average updates.
      normalizer_fn: normaliser of the convolutions.

    Returns:
      The arg scope.
    """
    batch_norm_params = {"center": True, "scale": True, "decay": batch_norm_decay, "epsilon": batch_norm_epsilon,
                         "updates_collections": batch_norm_updates_collections}
    if is_training is not None:
        batch_norm_params["is_training"] = is_training
    regularizer = slim.l2_regularizer(weight_decay)
    with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                        weights_initializer=tf.truncated_normal_initializer(stddev=stddev),
                        activation_fn=tf.nn.relu6, normalizer_fn=normalizer_fn), \
            slim.arg_scope([slim.batch_norm], **batch_norm_params), \
            slim.arg_scope([slim.conv2d], weights_regularizer=regularizer), \
            slim.arg_scope([slim.separable_conv2d],
                           weights_regularizer=regularizer if regularize_depthwise else None) as scope:
        return scope
