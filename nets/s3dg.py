"""S3D-G, the gated separable 3-D video network (Xie et al. 2017, arXiv:1712.04851), and the base it shares
with I3D.

The base is Inception V1 with 3-D layers and Inception V1's scope names
(`InceptionV1/Mixed_4b/Branch_1/Conv2d_0b_3x3/...`), as upstream's
`nets/s3dg.py`. Inputs are video clips [batch, frames, height, width, channels].
"""
from nets import i3d_utils
from slim_compat import slim, tf

conv3d_spatiotemporal = i3d_utils.conv3d_spatiotemporal
inception_block_v1_3d = i3d_utils.inception_block_v1_3d

# The base after Conv2d_2c_3x3: (end point, Inception block filter counts) or (end point, (pool kernel, stride)).
# Block filter counts: Branch_0 1x1; Branch_1 1x1, 3x3; Branch_2 1x1, 3x3; Branch_3 1x1 (Inception V1's).
_BASE_LAYERS = (
    ("MaxPool_3a_3x3", ([1, 3, 3], [1, 2, 2])),
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("MaxPool_4a_3x3", ([3, 3, 3], [2, 2, 2])),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("MaxPool_5a_2x2", ([2, 2, 2], [2, 2, 2])),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)


def video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon, separable, use_renorm=False):
    """ReLU and (unfused) batch norm after every 3-D convolution; moving statistics also in 'moving_vars'."""
    batch_norm_params = {
        "decay": batch_norm_decay, "epsilon": batch_norm_epsilon, "fused": False, "renorm": use_renorm,
        "variables_collections": {"beta": None, "gamma": None, "moving_mean": ["moving_vars"],
                                  "moving_variance": ["moving_vars"]},
    }
    with slim.arg_scope([slim.conv3d, conv3d_spatiotemporal], weights_regularizer=slim.l2_regularizer(weight_decay),
                        activation_fn=tf.nn.relu, normalizer_fn=slim.batch_norm, normalizer_params=batch_norm_params):
        with slim.arg_scope([conv3d_spatiotemporal], separable=separable) as scope:
            return scope


def s3dg_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999, batch_norm_epsilon=0.001):
    """Arg scope of S3D-G: separable spatiotemporal convolutions."""
    return video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon, separable=True)


def self_gating(input_tensor, scope, data_format="NDHWC"):
    """Multiplies each channel by a sigmoid gate computed from the channels' averages over time and space."""
    shape = input_tensor.shape.as_list()
    time, height, width, channels = (shape[data_format.index(axis)] for axis in "DHWC")
    average = slim.avg_pool3d(input_tensor, [time, width, height], stride=1, data_format=data_format,
                              scope=scope + "/self_gating/avg_pool3d")
    gates = slim.conv3d(average, channels, [1, 1, 1], activation_fn=None, normalizer_fn=None,
                        biases_initializer=None, data_format=data_format,
                        weights_initializer=tf.truncated_normal_initializer(0.0, 0.01),
                        scope=scope + "/self_gating/transformer_W")
    multiples = [1, time, width, height]
    multiples.insert(data_format.index("C"), 1)
    return tf.multiply(tf.nn.sigmoid(tf.tile(gates, multiples)), input_tensor)


def check_video_input(inputs, name):
    """Raises a one-line ValueError unless `inputs` is a 5-D clip batch."""
    if inputs.shape.ndims != 5:
        raise ValueError(f"{name} is a video network: it takes clips [batch, frames, height, width, channels], "
                         f"not a {inputs.shape.ndims}-D input of shape {inputs.shape.as_list()}")


def s3dg_base(inputs, first_temporal_kernel_size=3, temporal_conv_startat="Conv2d_2c_3x3",
              gating_startat="Conv2d_2c_3x3", final_endpoint="Mixed_5c", min_depth=16, depth_multiplier=1.0,
              data_format="NDHWC", scope="InceptionV1"):
    """The I3D/S3D-G base: 3-D Inception V1 up to `final_endpoint`.

    Args:
      inputs: [batch, frames, height, width, channels] (in `data_format`).
      first_temporal_kernel_size: temporal size of Conv2d_1a_7x7: 1, 3, 5 or 7.
      temporal_conv_startat: the first of Conv2d_2c_3x3 and the Mixed blocks whose 3x3
        convolutions also span 3 frames (earlier ones are 2-D, [1, 3, 3]).
      gating_startat: the first of those from which every branch is self-gated; None: no gating.
      final_endpoint: the end point to stop at.
      min_depth: minimum filter count once `depth_multiplier` applies.
      depth_multiplier: scales every filter count.
      data_format: 'NDHWC' or 'NCDHW'.
      scope: variable scope.

    Returns:
      (the final end point's tensor, {end point: tensor}).

    Raises:
      ValueError: bad first_temporal_kernel_size, depth_multiplier or final_endpoint, or an input
        that is not 5-D.
    """
    if data_format not in ("NDHWC", "NCDHW"):
        raise ValueError(f"data_format must be NDHWC or NCDHW, got {data_format}")
    if first_temporal_kernel_size not in (1, 3, 5, 7):
        raise ValueError("first_temporal_kernel_size can only be 1, 3, 5 or 7.")
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    check_video_input(inputs, "I3D/S3D-G")

    def depth(filters):
        return max(int(filters * depth_multiplier), min_depth)

    def gating_fn(net, scope):
        return self_gating(net, scope, data_format=data_format)

    end_points = {}
    temporal_size, gate = 1, None

    def reached(end_point, net):
        end_points[end_point] = net
        return end_point == final_endpoint

    def switch_on_at(end_point):
        nonlocal temporal_size, gate
        if end_point == temporal_conv_startat:
            temporal_size = 3
        if end_point == gating_startat:
            gate = gating_fn

    with tf.variable_scope(scope, "InceptionV1", [inputs]), \
            slim.arg_scope([slim.conv3d], weights_initializer=tf.truncated_normal_initializer(0.0, 0.01)), \
            slim.arg_scope([slim.conv3d, slim.max_pool3d, conv3d_spatiotemporal], stride=1, padding="SAME",
                           data_format=data_format):
        # Separable convolution is slow on the raw frames, so the first layer never is.
        net = conv3d_spatiotemporal(inputs, depth(64), [first_temporal_kernel_size, 7, 7], stride=2,
                                    separable=False, scope="Conv2d_1a_7x7")
        if reached("Conv2d_1a_7x7", net):
            return net, end_points
        net = slim.max_pool3d(net, [1, 3, 3], stride=[1, 2, 2], scope="MaxPool_2a_3x3")
        if reached("MaxPool_2a_3x3", net):
            return net, end_points
        net = slim.conv3d(net, depth(64), [1, 1, 1], scope="Conv2d_2b_1x1")
        if reached("Conv2d_2b_1x1", net):
            return net, end_points
        switch_on_at("Conv2d_2c_3x3")
        net = conv3d_spatiotemporal(net, depth(192), [temporal_size, 3, 3], scope="Conv2d_2c_3x3")
        if gate:
            net = gate(net, scope="Conv2d_2c_3x3")
        if reached("Conv2d_2c_3x3", net):
            return net, end_points
        for end_point, spec in _BASE_LAYERS:
            if end_point.startswith("MaxPool"):
                kernel, stride = spec
                net = slim.max_pool3d(net, kernel, stride=stride, scope=end_point)
            else:
                switch_on_at(end_point)
                net = inception_block_v1_3d(net, *(depth(filters) for filters in spec),
                                            temporal_kernel_size=temporal_size, self_gating_fn=gate,
                                            data_format=data_format, scope=end_point)
            if reached(end_point, net):
                return net, end_points
    raise ValueError(f"Unknown final endpoint {final_endpoint}")


def video_logits(net, end_points, num_classes, dropout_keep_prob, prediction_fn, spatial_squeeze, data_format):
    """The `Logits` head of I3D and S3D-G: average pool (up to [2, 7, 7]), dropout, 1x1x1 convolution,
    then the mean over the remaining frames."""
    with tf.variable_scope("Logits"):
        if data_format.startswith("NC"):
            net = tf.transpose(net, [0, 2, 3, 4, 1])
        net = slim.avg_pool3d(net, i3d_utils.reduced_kernel_size_3d(net, [2, 7, 7]), stride=1,
                              data_format="NDHWC", scope="AvgPool_0a_7x7")
        net = slim.dropout(net, dropout_keep_prob, scope="Dropout_0b")
        logits = slim.conv3d(net, num_classes, [1, 1, 1], activation_fn=None, normalizer_fn=None,
                             data_format="NDHWC", scope="Conv2d_0c_1x1")
        logits = tf.reduce_mean(logits, axis=1)
        if spatial_squeeze:
            logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
        end_points["Logits"] = logits
        end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


def s3dg(inputs, num_classes=1000, first_temporal_kernel_size=3, temporal_conv_startat="Conv2d_2c_3x3",
         gating_startat="Conv2d_2c_3x3", final_endpoint="Mixed_5c", min_depth=16, depth_multiplier=1.0,
         dropout_keep_prob=0.8, is_training=True, prediction_fn=slim.softmax, spatial_squeeze=True, reuse=None,
         data_format="NDHWC", scope="InceptionV1"):
    """S3D-G on clips [batch, frames, height, width, channels]; returns (logits [batch, num_classes], end_points).

    The base's arguments are those of `s3dg_base`; `spatial_squeeze=False` keeps
    logits [batch, 1, 1, num_classes].
    """
    with tf.variable_scope(scope, "InceptionV1", [inputs, num_classes], reuse=reuse) as scope, \
            slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
        net, end_points = s3dg_base(inputs, first_temporal_kernel_size=first_temporal_kernel_size,
                                    temporal_conv_startat=temporal_conv_startat, gating_startat=gating_startat,
                                    final_endpoint=final_endpoint, min_depth=min_depth,
                                    depth_multiplier=depth_multiplier, data_format=data_format, scope=scope)
        return video_logits(net, end_points, num_classes, dropout_keep_prob, prediction_fn, spatial_squeeze,
                            data_format)


s3dg.default_image_size = 224
