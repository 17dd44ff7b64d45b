"""PNASNet-5 networks (Liu et al. 2017, arXiv:1712.00559): Mobile (224 px) and Large (331 px).

One cell type throughout; the cells at a third and two thirds of the depth
stride. Builders, configurations, end points and variable names follow
upstream's `nets/nasnet/pnasnet.py` (root-level `cell_stem_0`, `cell_<n>`,
`aux_<n>/aux_logits`, `final_layer/FC`), so the published pnasnet-5 checkpoints
restore unchanged.
"""
import copy

from nets.nasnet import nasnet, nasnet_utils


def large_imagenet_config():
    """PNASNet-5 Large for ImageNet at 331 px."""
    return nasnet.make_config(num_cells=12, num_conv_filters=216, drop_path_keep_prob=0.6, skip_reduction_layer_input=1)


def mobile_imagenet_config():
    """PNASNet-5 Mobile for ImageNet at 224 px."""
    return nasnet.make_config(stem_multiplier=1.0, num_cells=9, num_conv_filters=54, drop_path_keep_prob=1.0,
                          skip_reduction_layer_input=1)


def pnasnet_large_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997, batch_norm_epsilon=0.001):
    """Arg scope of PNASNet-5 Large (NASNet-A Large's, with its own defaults)."""
    return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997, batch_norm_epsilon=0.001):
    """Arg scope of PNASNet-5 Mobile."""
    return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.FixedCell):
    """The PNASNet-5 cell (also the stem and, with stride 2, the reduction cell)."""

    OPERATIONS = ["separable_5x5_2", "max_pool_3x3", "separable_7x7_2", "max_pool_3x3", "separable_5x5_2",
                  "separable_3x3_2", "separable_3x3_2", "max_pool_3x3", "separable_3x3_2", "none"]
    USED_HIDDENSTATES = [1, 1, 0, 0, 0, 0, 0]
    HIDDENSTATE_INDICES = [1, 1, 0, 0, 0, 0, 4, 0, 1, 0]


def _build_pnasnet_base(images, normal_cell, num_classes, hparams, is_training, final_endpoint=None):
    """ImageNet stem of PNASNet cells, then `num_cells` cells, striding before each third."""
    end_points = nasnet.EndPoints(final_endpoint)
    reduction_indices = nasnet_utils.calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    net, cell_outputs = nasnet._imagenet_stem(images, hparams, normal_cell)
    if end_points.add("Stem", net):
        return net, end_points

    filter_scaling = 1.0
    true_cell_num = 2  # counts the stem cells
    prev_layer = None
    for cell_num in range(hparams.num_cells):
        is_reduction = cell_num in reduction_indices
        if is_reduction:
            filter_scaling *= hparams.filter_scaling_rate
        if hparams.skip_reduction_layer_input or not is_reduction:
            prev_layer = cell_outputs[-2]
        net = normal_cell(net, scope=f"cell_{cell_num}", filter_scaling=filter_scaling,
                          stride=2 if is_reduction else 1, prev_layer=prev_layer, cell_num=true_cell_num)
        if end_points.add(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        cell_outputs.append(net)
        if nasnet.wants_aux_head(hparams, cell_num, reduction_indices, num_classes, is_training):
            nasnet._build_aux_head(nasnet.activation_fn(hparams)(net), end_points, num_classes, hparams,
                                   scope=f"aux_{cell_num}")
    return nasnet.final_layer(net, end_points, num_classes, hparams)


def _build(images, num_classes, is_training, final_endpoint, hparams):
    hparams = copy.deepcopy(hparams)
    nasnet._update_hparams(hparams, is_training)
    # PNASNet has no separate reduction cells: its cells plus the two stem cells.
    normal_cell = PNasNetNormalCell(hparams.num_conv_filters, hparams.drop_path_keep_prob, hparams.num_cells + 2,
                                    hparams.total_training_steps, hparams.use_bounded_activation)
    return nasnet.build_in_scopes(
        lambda inputs: _build_pnasnet_base(inputs, normal_cell, num_classes, hparams, is_training, final_endpoint),
        images, hparams, is_training)


def build_pnasnet_large(images, num_classes, is_training=True, final_endpoint=None, config=None):
    """PNASNet-5 Large (331 px). Returns (logits, end_points), or the `final_endpoint` tensor."""
    return _build(images, num_classes, is_training, final_endpoint, config or large_imagenet_config())


build_pnasnet_large.default_image_size = 331


def build_pnasnet_mobile(images, num_classes, is_training=True, final_endpoint=None, config=None):
    """PNASNet-5 Mobile (224 px). Returns (logits, end_points), or the `final_endpoint` tensor."""
    return _build(images, num_classes, is_training, final_endpoint, config or mobile_imagenet_config())


build_pnasnet_mobile.default_image_size = 224
