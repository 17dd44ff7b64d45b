"""I3D, Inception V1 inflated to 3-D (Carreira and Zisserman 2017, arXiv:1705.07750), for video clips.

The S3D-G base without separable convolutions or gating, with a 7-frame first
convolution; Inception V1's scope names (`InceptionV1/...`), as upstream's
`nets/i3d.py`.
"""
from nets import s3dg
from slim_compat import slim, tf


def i3d_arg_scope(weight_decay=1e-7, batch_norm_decay=0.999, batch_norm_epsilon=0.001, use_renorm=False,
                  separable_conv3d=False):
    """Arg scope of I3D: full 3-D convolutions unless `separable_conv3d`; batch renormalisation with `use_renorm`."""
    return s3dg.video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon, separable=separable_conv3d,
                                 use_renorm=use_renorm)


def i3d_base(inputs, final_endpoint="Mixed_5c", scope="InceptionV1"):
    """The I3D base up to `final_endpoint`; returns (its tensor, {end point: tensor})."""
    return s3dg.s3dg_base(inputs, first_temporal_kernel_size=7, temporal_conv_startat="Conv2d_2c_3x3",
                          gating_startat=None, final_endpoint=final_endpoint, min_depth=16, depth_multiplier=1.0,
                          data_format="NDHWC", scope=scope)


def i3d(inputs, num_classes=1000, dropout_keep_prob=0.8, is_training=True, prediction_fn=slim.softmax,
        spatial_squeeze=True, reuse=None, scope="InceptionV1"):
    """I3D on clips [batch, frames, height, width, channels]; returns (logits [batch, num_classes], end_points)."""
    with tf.variable_scope(scope, "InceptionV1", [inputs, num_classes], reuse=reuse) as scope, \
            slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
        net, end_points = i3d_base(inputs, scope=scope)
        return s3dg.video_logits(net, end_points, num_classes, dropout_keep_prob, prediction_fn, spatial_squeeze,
                                 "NDHWC")


i3d.default_image_size = 224
