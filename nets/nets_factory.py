"""Maps a network name to a tf-slim network function wrapped in its arg scope.

Every network comes from `tf_slim.nets`, so variable names match the official
TF-Slim checkpoints (e.g. `InceptionV3/...` in inception_v3.ckpt).
"""
import functools

from slim_compat import slim, tf
from tf_slim import nets

networks_map = {
    "alexnet_v2": nets.alexnet.alexnet_v2,
    "overfeat": nets.overfeat.overfeat,
    "vgg_a": nets.vgg.vgg_a,
    "vgg_16": nets.vgg.vgg_16,
    "vgg_19": nets.vgg.vgg_19,
    "inception_v1": nets.inception.inception_v1,
    "inception_v2": nets.inception.inception_v2,
    "inception_v3": nets.inception.inception_v3,
    "resnet_v1_50": nets.resnet_v1.resnet_v1_50,
    "resnet_v1_101": nets.resnet_v1.resnet_v1_101,
    "resnet_v1_152": nets.resnet_v1.resnet_v1_152,
    "resnet_v1_200": nets.resnet_v1.resnet_v1_200,
    "resnet_v2_50": nets.resnet_v2.resnet_v2_50,
    "resnet_v2_101": nets.resnet_v2.resnet_v2_101,
    "resnet_v2_152": nets.resnet_v2.resnet_v2_152,
    "resnet_v2_200": nets.resnet_v2.resnet_v2_200,
}

# As upstream, Inception V1 and V2 use the V3 arg scope (it also takes a
# batch-norm decay, which V1's and V2's own scopes do not).
arg_scopes_map = {
    "alexnet_v2": nets.alexnet.alexnet_v2_arg_scope,
    "overfeat": nets.overfeat.overfeat_arg_scope,
    "vgg_a": nets.vgg.vgg_arg_scope,
    "vgg_16": nets.vgg.vgg_arg_scope,
    "vgg_19": nets.vgg.vgg_arg_scope,
    "inception_v1": nets.inception.inception_v3_arg_scope,
    "inception_v2": nets.inception.inception_v3_arg_scope,
    "inception_v3": nets.inception.inception_v3_arg_scope,
    **{name: nets.resnet_utils.resnet_arg_scope for name in networks_map if name.startswith("resnet_")},
}

# tf-slim sets `default_image_size` on the other functions, not on these.
DEFAULT_IMAGE_SIZES = {"overfeat": 231, **{name: 224 for name in networks_map if name.startswith("resnet_")}}

# Smallest input side each network can be built at (measured with its auxiliary head, where it has
# one); a network not listed is checked when built: an input too small for it is reported then.
MIN_IMAGE_SIZES = {"alexnet_v2": 195, "inception_v1": 193, "inception_v3": 107}

NETWORKS_WITH_BATCH_NORM = frozenset(name for name in networks_map if name.startswith(("inception", "resnet")))


def _default_image_size(name):
    return DEFAULT_IMAGE_SIZES.get(name) or networks_map[name].default_image_size


def check_image_size(name, image_size, flag_name="image size"):
    """Raises ValueError (naming `flag_name`) when `image_size` is below network `name`'s minimum.

    None (the network's default size) and networks without a known minimum pass.
    """
    minimum = MIN_IMAGE_SIZES.get(name)
    if image_size is not None and minimum is not None and image_size < minimum:
        raise ValueError(f"{flag_name}={image_size}: {name} needs images of at least {minimum}x{minimum} pixels")


def _too_small_error(name, images, error):
    """Returns a one-line ValueError for a network that cannot shrink `images` as far as its layers need."""
    height, width = images.shape.as_list()[1:3]
    return ValueError(f"{name} cannot take {height}x{width} images: they are too small for its layers "
                      f"({str(error).splitlines()[0][:120]}); use larger images")


def _with_frozen_batch_norm(scope):
    """Returns a copy of `scope` whose conv-attached batch norms run in inference mode.

    The network functions set `is_training` on batch_norm in an inner arg scope,
    which an outer scope cannot override; explicit `normalizer_params` can.
    """
    frozen = {}
    for op_key, kwargs in scope.items():
        kwargs = dict(kwargs)
        if "normalizer_params" in kwargs:
            kwargs["normalizer_params"] = dict(kwargs["normalizer_params"], is_training=False)
        frozen[op_key] = kwargs
    return frozen


def _to_classification_outputs(logits, end_points):
    """Gives every network [batch, classes] logits and `end_points['Predictions']`.

    tf-slim's ResNets return [batch, 1, 1, classes] logits and lower-case
    `predictions`; the scripts expect the Inception layout.
    """
    if logits.shape.ndims == 4:
        logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
    if "Predictions" not in end_points:
        end_points["Predictions"] = tf.nn.softmax(logits, name="Predictions")
    end_points.setdefault("Logits", logits)
    return logits, end_points


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False, batch_norm_decay=None,
                   freeze_batch_norm=False):
    """Returns a function that builds network `name`.

    Args:
      name: a key of `networks_map`.
      num_classes: number of classes of the logits layer.
      weight_decay: L2 regularisation of the weights.
      is_training: whether the network is built for training (dropout, batch statistics).
      batch_norm_decay: moving-average decay of batch norm; None keeps the network's default
        (0.9997 for Inception, 0.997 for ResNet, which need ~10k steps to forget ImageNet).
      freeze_batch_norm: run batch norm in inference mode even when training: it normalises with
        the checkpoint's moving statistics and never updates them.

    Returns:
      `network_fn(images, **kwargs) -> (logits, end_points)` with attribute
      `default_image_size`; logits are [batch, num_classes] and
      `end_points['Predictions']` the softmax.

    Raises:
      ValueError: unknown network, or a batch-norm option for a network without batch norm.
    """
    if name not in networks_map:
        raise ValueError(f"Name of network unknown {name}; known: {', '.join(sorted(networks_map))}")
    if (batch_norm_decay is not None or freeze_batch_norm) and name not in NETWORKS_WITH_BATCH_NORM:
        raise ValueError(f"{name} has no batch norm: batch_norm_decay/freeze_batch_norm do not apply")
    scope_kwargs = {"weight_decay": weight_decay}
    if batch_norm_decay is not None:
        scope_kwargs["batch_norm_decay"] = batch_norm_decay
    network = networks_map[name]

    @functools.wraps(network)
    def network_fn(images, **kwargs):
        scope = arg_scopes_map[name](**scope_kwargs)
        if freeze_batch_norm:
            scope = _with_frozen_batch_norm(scope)
        update_ops_before = len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        with slim.arg_scope(scope):
            try:
                logits, end_points = network(images, num_classes=num_classes, is_training=is_training, **kwargs)
            except ValueError as error:
                if "Negative dimension size" not in str(error):
                    raise
                raise _too_small_error(name, images, error) from error
        if freeze_batch_norm and len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) != update_ops_before:
            raise ValueError(f"{name} has batch norms outside its convolutions; freeze_batch_norm cannot reach them")
        return _to_classification_outputs(logits, end_points)

    network_fn.default_image_size = _default_image_size(name)
    return network_fn
