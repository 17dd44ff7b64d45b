"""Maps a network name to its network function wrapped in its arg scope (upstream's nets_factory).

Variable names match upstream's published ImageNet checkpoints (e.g. `InceptionV3/...` in
inception_v3.ckpt). Adding a network: its module under nets/, and one line in `_NETWORKS`.
"""
import functools

from nets import alexnet, cifarnet, i3d, inception, lenet, mobilenet_v1, overfeat, resnet_v1, resnet_v2, s3dg, vgg
from nets.mobilenet import mobilenet_v2, mobilenet_v3
from nets.nasnet import nasnet, pnasnet
from slim_compat import slim, tf

# name: (network function, arg scope function), in upstream's order of networks_map (its
# test splits the names at the tenth). As upstream, Inception V1 and V2 use the V3 arg scope.
_NETWORKS = {
    "alexnet_v2": (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope),
    "cifarnet": (cifarnet.cifarnet, cifarnet.cifarnet_arg_scope),
    "overfeat": (overfeat.overfeat, overfeat.overfeat_arg_scope),
    "vgg_a": (vgg.vgg_a, vgg.vgg_arg_scope),
    "vgg_16": (vgg.vgg_16, vgg.vgg_arg_scope),
    "vgg_19": (vgg.vgg_19, vgg.vgg_arg_scope),
    "inception_v1": (inception.inception_v1, inception.inception_v3_arg_scope),
    "inception_v2": (inception.inception_v2, inception.inception_v3_arg_scope),
    "inception_v3": (inception.inception_v3, inception.inception_v3_arg_scope),
    "inception_v4": (inception.inception_v4, inception.inception_v4_arg_scope),
    "inception_resnet_v2": (inception.inception_resnet_v2, inception.inception_resnet_v2_arg_scope),
    "i3d": (i3d.i3d, i3d.i3d_arg_scope),
    "s3dg": (s3dg.s3dg, s3dg.s3dg_arg_scope),
    "lenet": (lenet.lenet, lenet.lenet_arg_scope),
    "resnet_v1_50": (resnet_v1.resnet_v1_50, resnet_v1.resnet_arg_scope),
    "resnet_v1_101": (resnet_v1.resnet_v1_101, resnet_v1.resnet_arg_scope),
    "resnet_v1_152": (resnet_v1.resnet_v1_152, resnet_v1.resnet_arg_scope),
    "resnet_v1_200": (resnet_v1.resnet_v1_200, resnet_v1.resnet_arg_scope),
    "resnet_v2_50": (resnet_v2.resnet_v2_50, resnet_v2.resnet_arg_scope),
    "resnet_v2_101": (resnet_v2.resnet_v2_101, resnet_v2.resnet_arg_scope),
    "resnet_v2_152": (resnet_v2.resnet_v2_152, resnet_v2.resnet_arg_scope),
    "resnet_v2_200": (resnet_v2.resnet_v2_200, resnet_v2.resnet_arg_scope),
    "mobilenet_v1": (mobilenet_v1.mobilenet_v1, mobilenet_v1.mobilenet_v1_arg_scope),
    "mobilenet_v1_075": (mobilenet_v1.mobilenet_v1_075, mobilenet_v1.mobilenet_v1_arg_scope),
    "mobilenet_v1_050": (mobilenet_v1.mobilenet_v1_050, mobilenet_v1.mobilenet_v1_arg_scope),
    "mobilenet_v1_025": (mobilenet_v1.mobilenet_v1_025, mobilenet_v1.mobilenet_v1_arg_scope),
    "mobilenet_v2": (mobilenet_v2.mobilenet, mobilenet_v2.training_scope),
    "mobilenet_v2_140": (mobilenet_v2.mobilenet_v2_140, mobilenet_v2.training_scope),
    "mobilenet_v2_035": (mobilenet_v2.mobilenet_v2_035, mobilenet_v2.training_scope),
    "mobilenet_v3_small": (mobilenet_v3.small, mobilenet_v3.training_scope),
    "mobilenet_v3_large": (mobilenet_v3.large, mobilenet_v3.training_scope),
    "mobilenet_v3_small_minimalistic": (mobilenet_v3.small_minimalistic, mobilenet_v3.training_scope),
    "mobilenet_v3_large_minimalistic": (mobilenet_v3.large_minimalistic, mobilenet_v3.training_scope),
    "mobilenet_edgetpu": (mobilenet_v3.edge_tpu, mobilenet_v3.training_scope),
    "mobilenet_edgetpu_075": (mobilenet_v3.edge_tpu_075, mobilenet_v3.training_scope),
    "nasnet_cifar": (nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope),
    "nasnet_mobile": (nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope),
    "nasnet_large": (nasnet.build_nasnet_large, nasnet.nasnet_large_arg_scope),
    "pnasnet_large": (pnasnet.build_pnasnet_large, pnasnet.pnasnet_large_arg_scope),
    "pnasnet_mobile": (pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope),
}

networks_map = {name: network for name, (network, _) in _NETWORKS.items()}
# Networks on video clips [batch, frames, height, width, 3]; the scripts feed images.
VIDEO_NETWORKS = ("i3d", "s3dg")
arg_scopes_map = {name: arg_scope for name, (_, arg_scope) in _NETWORKS.items()}
# Smallest input side a network can be built at (measured with its auxiliary head, where it has one),
# checked before any graph is built; a network not listed is checked as it is built instead.
MIN_IMAGE_SIZES = {"alexnet_v2": 195, "inception_v1": 193, "inception_v3": 107}

_BATCH_NORM_KEY = slim.arg_scope_func_key(slim.batch_norm)


def _normalises_with_batch_norm(op_kwargs):
    return op_kwargs.get("normalizer_fn") is slim.batch_norm


def has_batch_norm(scope):
    """Whether arg scope `scope` configures batch norm: on its own, or as the normaliser of a layer."""
    return any(key == _BATCH_NORM_KEY or _normalises_with_batch_norm(kwargs) for key, kwargs in scope.items())


def _with_batch_norm_args(scope, **batch_norm_args):
    """Returns a copy of arg scope `scope` whose batch norms are called with `batch_norm_args`.

    Layers normalised by batch norm get them as explicit `normalizer_params`, which win over the
    `is_training` that network functions set on batch_norm in an inner arg scope; batch norms
    called directly get them through the scope, where such an inner scope overrides them.
    """
    updated = {}
    for key, kwargs in scope.items():
        kwargs = dict(kwargs)
        if key == _BATCH_NORM_KEY:
            kwargs.update(batch_norm_args)
        elif _normalises_with_batch_norm(kwargs):
            kwargs["normalizer_params"] = {**(kwargs.get("normalizer_params") or {}), **batch_norm_args}
        updated[key] = kwargs
    return updated


def check_image_network(name):
    """Raises a one-line ValueError when `name` is a video network, which the image scripts cannot feed."""
    if name in VIDEO_NETWORKS:
        raise ValueError(f"--model_name={name} is a video network (input clips [batch, frames, height, width, 3]); "
                         "training, evaluation and prediction take images (export it with --is_video_model "
                         "--num_frames)")


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
    batch_norm_args = {}
    if batch_norm_decay is not None:
        batch_norm_args["decay"] = batch_norm_decay
    if freeze_batch_norm:
        batch_norm_args["is_training"] = False
    if batch_norm_args and not has_batch_norm(arg_scopes_map[name](weight_decay=weight_decay)):
        raise ValueError(f"{name} has no batch norm: batch_norm_decay/freeze_batch_norm do not apply")
    network = networks_map[name]

    def network_scope():
        # Built where the network is called, as upstream: an arg scope function merges the
        # enclosing scopes (model_deploy's variables device among them) into what it returns.
        scope = arg_scopes_map[name](weight_decay=weight_decay)
        return _with_batch_norm_args(scope, **batch_norm_args) if batch_norm_args else scope

    @functools.wraps(network)
    def network_fn(images, **kwargs):
        update_ops_before = len(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        with slim.arg_scope(network_scope()):
            try:
                logits, end_points = network(images, num_classes=num_classes, is_training=is_training, **kwargs)
            except ValueError as error:
                if "Negative dimension size" not in str(error):
                    raise
                raise _too_small_error(name, images, error) from error
        if freeze_batch_norm and len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) != update_ops_before:
            raise ValueError(f"{name} has batch norms outside its convolutions; freeze_batch_norm cannot reach them")
        return _to_classification_outputs(logits, end_points)

    if hasattr(network, "default_image_size"):
        network_fn.default_image_size = network.default_image_size
    return network_fn
