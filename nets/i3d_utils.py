"""Building blocks of the video networks I3D and S3D-G: (separable) 3-D convolution, the 3-D Inception block.

Scope names follow upstream's `nets/i3d_utils.py` (Inception V1's names, so image
checkpoints can be inflated): `Branch_1/Conv2d_0b_3x3`, its temporal half
`Conv2d_0b_3x3/temporal`, ...
"""
import numpy as np

from slim_compat import slim, tf


def center_initializer():
    """Initialiser of a temporal [t, 1, 1, c, c] convolution that starts as the identity.

    Only the centre frame's weights are set (to the identity matrix), so a separable
    3-D convolution starts out as its 2-D spatial half.
    """

    def _initializer(shape, dtype=tf.float32, partition_info=None):
        del partition_info
        if dtype not in (tf.float32, tf.bfloat16):
            raise ValueError(f"center_initializer needs float32 or bfloat16, got {dtype}")
        if len(shape) != 5 or shape[1] != 1 or shape[2] != 1 or shape[3] != shape[4] or shape[0] % 2 == 0:
            raise ValueError(f"center_initializer needs a [odd t, 1, 1, c, c] kernel, got {shape}")
        kernel = np.zeros(shape, dtype=np.float32)
        kernel[shape[0] // 2, 0, 0] = np.eye(shape[3], dtype=np.float32)
        return tf.constant(kernel, dtype=dtype)

    return _initializer


def _separate(value):
    """[t, h, w] (or one int for all three) -> ([1, h, w], [t, 1, 1])."""
    time, height, width = value if isinstance(value, (list, tuple)) else (value,) * 3
    return [1, height, width], [time, 1, 1]


@slim.add_arg_scope
def conv3d_spatiotemporal(inputs, num_outputs, kernel_size, stride=1, padding="SAME", activation_fn=None,
                          normalizer_fn=None, normalizer_params=None, weights_regularizer=None, separable=False,
                          data_format="NDHWC", scope=""):
    """A 3-D convolution, or with `separable` a spatial [1, k, k] one followed by a temporal [t, 1, 1] one.

    The temporal half (scope `<scope>/temporal`) has biases instead of a
    normaliser and starts as the identity (`center_initializer`). A kernel of
    temporal size 1 is never split.
    """
    if len(kernel_size) != 3:
        raise ValueError(f"kernel_size must be [time, height, width], got {kernel_size}")
    conv_args = dict(padding=padding, activation_fn=activation_fn, data_format=data_format)
    if not separable or kernel_size[0] == 1:
        return slim.conv3d(inputs, num_outputs, kernel_size, stride=stride, normalizer_fn=normalizer_fn,
                           normalizer_params=normalizer_params, weights_regularizer=weights_regularizer,
                           scope=scope, **conv_args)
    spatial_kernel, temporal_kernel = _separate(kernel_size)
    spatial_stride, temporal_stride = _separate(stride)
    net = slim.conv3d(inputs, num_outputs, spatial_kernel, stride=spatial_stride, normalizer_fn=normalizer_fn,
                      normalizer_params=normalizer_params, weights_regularizer=weights_regularizer, scope=scope,
                      **conv_args)
    return slim.conv3d(net, num_outputs, temporal_kernel, stride=temporal_stride, normalizer_fn=None,
                       weights_initializer=center_initializer(), scope=scope + "/temporal", **conv_args)


@slim.add_arg_scope
def inception_block_v1_3d(inputs, num_outputs_0_0a, num_outputs_1_0a, num_outputs_1_0b, num_outputs_2_0a,
                          num_outputs_2_0b, num_outputs_3_0b, temporal_kernel_size=3, self_gating_fn=None,
                          data_format="NDHWC", scope=""):
    """Inception V1's four-branch block in 3-D (Xie et al. 2017, arXiv:1712.04851).

    Branches: 1x1; 1x1 then [t, 3, 3]; 1x1 then [t, 3, 3]; 3x3x3 max pool then 1x1.
    `self_gating_fn(net, scope=...)`, when given, gates each branch's output.

    Returns:
      The branches concatenated along the channels of `data_format`.
    """
    gate = self_gating_fn or (lambda net, scope: net)

    def conv_then_spatiotemporal(num_1x1, num_3x3):
        net = slim.conv3d(inputs, num_1x1, [1, 1, 1], scope="Conv2d_0a_1x1")
        net = conv3d_spatiotemporal(net, num_3x3, [temporal_kernel_size, 3, 3], scope="Conv2d_0b_3x3")
        return gate(net, scope="Conv2d_0b_3x3")

    with tf.variable_scope(scope):
        with tf.variable_scope("Branch_0"):
            branch_0 = gate(slim.conv3d(inputs, num_outputs_0_0a, [1, 1, 1], scope="Conv2d_0a_1x1"),
                            scope="Conv2d_0a_1x1")
        with tf.variable_scope("Branch_1"):
            branch_1 = conv_then_spatiotemporal(num_outputs_1_0a, num_outputs_1_0b)
        with tf.variable_scope("Branch_2"):
            branch_2 = conv_then_spatiotemporal(num_outputs_2_0a, num_outputs_2_0b)
        with tf.variable_scope("Branch_3"):
            branch_3 = slim.max_pool3d(inputs, [3, 3, 3], stride=1, padding="SAME", data_format=data_format,
                                       scope="MaxPool_0a_3x3")
            branch_3 = gate(slim.conv3d(branch_3, num_outputs_3_0b, [1, 1, 1], scope="Conv2d_0b_1x1"),
                            scope="Conv2d_0b_1x1")
        return tf.concat([branch_0, branch_1, branch_2, branch_3], data_format.index("C"))


def reduced_kernel_size_3d(input_tensor, kernel_size):
    """`kernel_size` [t, h, w] shrunk to the input's time, height and width where those are smaller (and known)."""
    shape = input_tensor.shape.as_list()
    if len(kernel_size) != 3 or len(shape) != 5:
        raise ValueError("reduced_kernel_size_3d needs a 5-D input and a [t, h, w] kernel")
    if None in shape[1:4]:
        return kernel_size
    return [min(size, kernel) for size, kernel in zip(shape[1:4], kernel_size)]
