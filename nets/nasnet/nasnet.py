"""NASNet-A networks (Zoph et al. 2017, arXiv:1707.07012): CIFAR, Mobile (224 px) and Large (331 px).

Builders, configurations, arg scopes, end points and variable names follow
upstream's `nets/nasnet/nasnet.py`, so the published `model.ckpt` of
nasnet-a_mobile / nasnet-a_large restores unchanged. As upstream, the variables
have no network-wide scope: `conv0`, `cell_stem_0/...`, `cell_<n>/...`,
`reduction_cell_<n>/...`, `aux_<n>/aux_logits/...`, `final_layer/FC`.
"""
import copy
import types

from nets.nasnet import nasnet_utils
from slim_compat import slim, tf


class HParams(types.SimpleNamespace):
    """Hyperparameters as attributes, with `set_hparam` for known names (upstream's HParams interface)."""

    def set_hparam(self, name, value):
        if name not in vars(self):
            raise KeyError(f"unknown hyperparameter {name!r}; known: {', '.join(sorted(vars(self)))}")
        setattr(self, name, value)

    def values(self):
        return dict(vars(self))


def make_config(**overrides):
    """A NASNet/PNASNet configuration: the shared defaults (NASNet-A Large's) with `overrides`."""
    defaults = dict(stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=18, filter_scaling_rate=2.0,
                    num_conv_filters=168, drop_path_keep_prob=0.7, use_aux_head=1, num_reduction_layers=2,
                    data_format="NHWC", skip_reduction_layer_input=0, total_training_steps=250000,
                    use_bounded_activation=False)
    return HParams(**{**defaults, **overrides})


def cifar_config():
    """NASNet-A 6@768 for CIFAR-10 (trained 600 epochs at batch 32, hence 937,500 steps)."""
    return make_config(num_conv_filters=32, drop_path_keep_prob=0.6, dense_dropout_keep_prob=1.0,
                   total_training_steps=937500)


def large_imagenet_config():
    """NASNet-A 6@4032 for ImageNet at 331 px."""
    return make_config(skip_reduction_layer_input=1)


def mobile_imagenet_config():
    """NASNet-A 4@1056 for ImageNet at 224 px."""
    return make_config(stem_multiplier=1.0, num_cells=12, num_conv_filters=44, drop_path_keep_prob=1.0)


def _update_hparams(hparams, is_training):
    """Drop path is a training-time regulariser only."""
    if not is_training:
        hparams.set_hparam("drop_path_keep_prob", 1.0)


def _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
    """Convolutions without bias or activation (a batch norm follows each), He-initialised, L2-decayed."""
    with slim.arg_scope([slim.fully_connected, slim.conv2d, slim.separable_conv2d],
                        weights_regularizer=slim.l2_regularizer(weight_decay),
                        weights_initializer=slim.variance_scaling_initializer(mode="FAN_OUT")):
        with slim.arg_scope([slim.fully_connected], activation_fn=None, scope="FC"):
            with slim.arg_scope([slim.conv2d, slim.separable_conv2d], activation_fn=None, biases_initializer=None):
                with slim.arg_scope([slim.batch_norm], decay=batch_norm_decay, epsilon=batch_norm_epsilon,
                                    scale=True, fused=True) as scope:
                    return scope


def nasnet_cifar_arg_scope(weight_decay=5e-4, batch_norm_decay=0.9, batch_norm_epsilon=1e-5):
    """Arg scope of NASNet-A CIFAR."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997, batch_norm_epsilon=1e-3):
    """Arg scope of NASNet-A Mobile."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay=5e-5, batch_norm_decay=0.9997, batch_norm_epsilon=1e-3):
    """Arg scope of NASNet-A Large."""
    return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def activation_fn(hparams):
    """ReLU6 with bounded activations, else ReLU."""
    return tf.nn.relu6 if hparams.use_bounded_activation else tf.nn.relu


def _build_aux_head(net, end_points, num_classes, hparams, scope):
    """Auxiliary classifier (`end_points['AuxLogits']`): 5x5/3 average pool, 1x1 to 128, full-size conv to 768."""
    activation = activation_fn(hparams)
    with tf.variable_scope(scope), tf.variable_scope("aux_logits"):
        aux = slim.avg_pool2d(tf.identity(net), [5, 5], stride=3, padding="VALID")
        aux = activation(slim.batch_norm(slim.conv2d(aux, 128, [1, 1], scope="proj"), scope="aux_bn0"))
        spatial = aux.shape[1:3] if hparams.data_format == nasnet_utils.DATA_FORMAT_NHWC else aux.shape[2:4]
        aux = slim.conv2d(aux, 768, [int(dim) for dim in spatial], padding="VALID", scope="Conv")
        aux = activation(slim.batch_norm(aux, scope="aux_bn1"))
        end_points["AuxLogits"] = slim.fully_connected(slim.flatten(aux), num_classes, scope="FC")


def _imagenet_stem(inputs, hparams, stem_cell, current_step=None):
    """3x3/2 convolution, then two stride-2 cells at 1/4 and 1/2 of the base filter count."""
    num_stem_cells = 2
    net = slim.conv2d(inputs, int(32 * hparams.stem_multiplier), [3, 3], stride=2, padding="VALID", scope="conv0")
    net = slim.batch_norm(net, scope="conv0_bn")
    cell_outputs = [None, net]
    filter_scaling = 1.0 / hparams.filter_scaling_rate ** num_stem_cells
    for cell_num in range(num_stem_cells):
        net = stem_cell(net, scope=f"cell_stem_{cell_num}", filter_scaling=filter_scaling, stride=2,
                        prev_layer=cell_outputs[-2], cell_num=cell_num, current_step=current_step)
        cell_outputs.append(net)
        filter_scaling *= hparams.filter_scaling_rate
    return net, cell_outputs


def _cifar_stem(inputs, hparams):
    """One 3x3 convolution at full resolution."""
    net = slim.conv2d(inputs, int(hparams.num_conv_filters * hparams.stem_multiplier), 3, scope="l1_stem_3x3")
    net = slim.batch_norm(net, scope="l1_stem_bn")
    return net, [None, net]


def _batch_norm_is_training(is_training):
    """`is_training` for batch norm, unless an enclosing arg scope already fixed it (frozen batch norm)."""
    enclosing = slim.current_arg_scope().get(slim.arg_scope_func_key(slim.batch_norm), {})
    return enclosing.get("is_training", is_training)


def build_in_scopes(build, images, hparams, is_training):
    """Runs `build(images)` in the arg scopes every NASNet-style builder needs.

    Transposes `images` to NCHW when the configuration asks for it; passes
    `is_training` to dropout, drop path and batch norm, and the data format to
    every layer that takes one.
    """
    if hparams.data_format == nasnet_utils.DATA_FORMAT_NCHW:
        images = tf.transpose(images, [0, 3, 1, 2])
    with slim.arg_scope([slim.dropout, nasnet_utils.drop_path], is_training=is_training), \
            slim.arg_scope([slim.batch_norm], is_training=_batch_norm_is_training(is_training)), \
            slim.arg_scope([slim.avg_pool2d, slim.max_pool2d, slim.conv2d, slim.batch_norm, slim.separable_conv2d,
                            nasnet_utils.factorized_reduction, nasnet_utils.global_avg_pool,
                            nasnet_utils.get_channel_index, nasnet_utils.get_channel_dim],
                           data_format=hparams.data_format):
        return build(images)


def _nasnet_cells(hparams, total_num_cells):
    cell_args = (hparams.num_conv_filters, hparams.drop_path_keep_prob, total_num_cells,
                 hparams.total_training_steps, hparams.use_bounded_activation)
    return nasnet_utils.NasNetANormalCell(*cell_args), nasnet_utils.NasNetAReductionCell(*cell_args)


def _build(images, num_classes, is_training, config, stem_type, final_endpoint=None, current_step=None):
    hparams = copy.deepcopy(config)
    _update_hparams(hparams, is_training)
    # Every reduction cell counts, and on ImageNet the two stem cells too.
    total_num_cells = hparams.num_cells + 2 + (2 if stem_type == "imagenet" else 0)
    normal_cell, reduction_cell = _nasnet_cells(hparams, total_num_cells)
    return build_in_scopes(
        lambda inputs: _build_nasnet_base(inputs, normal_cell, reduction_cell, num_classes, hparams, is_training,
                                          stem_type, final_endpoint, current_step),
        images, hparams, is_training)


def build_nasnet_cifar(images, num_classes, is_training=True, config=None, current_step=None):
    """NASNet-A for CIFAR-10 (32 px). Returns (logits, end_points), or pooled features without classes."""
    return _build(images, num_classes, is_training, config or cifar_config(), "cifar", current_step=current_step)


build_nasnet_cifar.default_image_size = 32


def build_nasnet_mobile(images, num_classes, is_training=True, final_endpoint=None, config=None,
                        current_step=None):
    """NASNet-A Mobile for ImageNet (224 px). Returns (logits, end_points), or the `final_endpoint` tensor."""
    return _build(images, num_classes, is_training, config or mobile_imagenet_config(), "imagenet",
                  final_endpoint, current_step)


build_nasnet_mobile.default_image_size = 224


def build_nasnet_large(images, num_classes, is_training=True, final_endpoint=None, config=None,
                       current_step=None):
    """NASNet-A Large for ImageNet (331 px). Returns (logits, end_points), or the `final_endpoint` tensor."""
    return _build(images, num_classes, is_training, config or large_imagenet_config(), "imagenet",
                  final_endpoint, current_step)


build_nasnet_large.default_image_size = 331


class EndPoints(dict):
    """The end-point dict, which says when the requested final end point has been reached."""

    def __init__(self, final_endpoint):
        super().__init__()
        self._final_endpoint = final_endpoint

    def add(self, name, net):
        self[name] = net
        return name == self._final_endpoint


def final_layer(net, end_points, num_classes, hparams):
    """ReLU, global average pool, dropout and the `final_layer/FC` logits; returns (output, end_points)."""
    with tf.variable_scope("final_layer"):
        net = nasnet_utils.global_avg_pool(activation_fn(hparams)(net))
        if end_points.add("global_pool", net) or not num_classes:
            return net, end_points
        net = slim.dropout(net, hparams.dense_dropout_keep_prob, scope="dropout")
        logits = slim.fully_connected(net, num_classes, scope="FC")
        if end_points.add("Logits", logits):
            return logits, end_points
        end_points.add("Predictions", tf.nn.softmax(logits, name="predictions"))
    return logits, end_points


def wants_aux_head(hparams, cell_num, reduction_indices, num_classes, is_training):
    """The auxiliary head sits on the normal cell just before the second reduction, in training only."""
    return bool(hparams.use_aux_head and len(reduction_indices) >= 2 and cell_num == reduction_indices[1] - 1
                and num_classes and is_training)


def _build_nasnet_base(images, normal_cell, reduction_cell, num_classes, hparams, is_training, stem_type,
                       final_endpoint=None, current_step=None):
    """Stem, then `num_cells` normal cells with a reduction cell before each third."""
    end_points = EndPoints(final_endpoint)
    reduction_indices = nasnet_utils.calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    if stem_type == "imagenet":
        net, cell_outputs = _imagenet_stem(images, hparams, reduction_cell, current_step)
    elif stem_type == "cifar":
        net, cell_outputs = _cifar_stem(images, hparams)
    else:
        raise ValueError(f"unknown stem_type {stem_type!r}")
    if end_points.add("Stem", net):
        return net, end_points

    filter_scaling = 1.0
    true_cell_num = 2 if stem_type == "imagenet" else 0  # counts the stem cells
    for cell_num in range(hparams.num_cells):
        # Large NASNet feeds a normal cell after a reduction with the layer before the reduction.
        prev_layer = cell_outputs[-2]
        if cell_num in reduction_indices:
            filter_scaling *= hparams.filter_scaling_rate
            reduction_num = reduction_indices.index(cell_num)
            net = reduction_cell(net, scope=f"reduction_cell_{reduction_num}", filter_scaling=filter_scaling,
                                 stride=2, prev_layer=cell_outputs[-2], cell_num=true_cell_num,
                                 current_step=current_step)
            if end_points.add(f"Reduction_Cell_{reduction_num}", net):
                return net, end_points
            true_cell_num += 1
            cell_outputs.append(net)
        if not hparams.skip_reduction_layer_input:
            prev_layer = cell_outputs[-2]
        net = normal_cell(net, scope=f"cell_{cell_num}", filter_scaling=filter_scaling, stride=1,
                          prev_layer=prev_layer, cell_num=true_cell_num, current_step=current_step)
        if end_points.add(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        if wants_aux_head(hparams, cell_num, reduction_indices, num_classes, is_training):
            _build_aux_head(activation_fn(hparams)(net), end_points, num_classes, hparams,
                            scope=f"aux_{cell_num}")
        cell_outputs.append(net)
    return final_layer(net, end_points, num_classes, hparams)
