"""NASNet-A and PNASNet: end points, shapes and checkpoint variable names, at three cells and small images.

Cut to three cells (a reduction before the second and the third), every builder
still runs its stem, both reductions, the auxiliary head and the final layer
with upstream's filter counts, so the layers it builds have the published
checkpoints' names and shapes; the full twelve/eighteen-cell networks take
~30 s each just to build here. Only the fine-tuning test builds one (nasnet_mobile).
"""
import numpy as np
import pytest

from nets import nets_factory
from nets.nasnet import nasnet, nasnet_utils, pnasnet
from slim_compat import slim, tf
from tests.fine_tuning import check_fine_tuning, save_imagenet_layout_checkpoint

pytestmark = pytest.mark.slow  # builds every NASNet and PNASNet graph and fine-tunes one

IMAGE_SIZE = 96  # ImageNet stem: 47 after conv0, 24 and 12 after the stem cells; reductions to 6 and 3.
BATCH = 2

# builder, arg scope, config, image size, {end point: shape without batch}
NETWORKS = {
    "nasnet_cifar": (nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope, nasnet.cifar_config, 32,
                     {"Stem": [32, 32, 96], "Cell_0": [32, 32, 192], "Reduction_Cell_0": [16, 16, 256],
                      "Cell_1": [16, 16, 384], "Reduction_Cell_1": [8, 8, 512], "Cell_2": [8, 8, 768],
                      "global_pool": [768]}),
    "nasnet_mobile": (nasnet.build_nasnet_mobile, nasnet.nasnet_mobile_arg_scope, nasnet.mobile_imagenet_config,
                      IMAGE_SIZE,
                      {"Stem": [12, 12, 88], "Cell_0": [12, 12, 264], "Reduction_Cell_0": [6, 6, 352],
                       "Cell_1": [6, 6, 528], "Reduction_Cell_1": [3, 3, 704], "Cell_2": [3, 3, 1056],
                       "global_pool": [1056]}),
    "nasnet_large": (nasnet.build_nasnet_large, nasnet.nasnet_large_arg_scope, nasnet.large_imagenet_config,
                     IMAGE_SIZE,
                     {"Stem": [12, 12, 336], "Cell_0": [12, 12, 1008], "Reduction_Cell_0": [6, 6, 1344],
                      "Cell_1": [6, 6, 2016], "Reduction_Cell_1": [3, 3, 2688], "Cell_2": [3, 3, 4032],
                      "global_pool": [4032]}),
    "pnasnet_mobile": (pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope,
                       pnasnet.mobile_imagenet_config, IMAGE_SIZE,
                       {"Stem": [12, 12, 135], "Cell_0": [12, 12, 270], "Cell_1": [6, 6, 540],
                        "Cell_2": [3, 3, 1080], "global_pool": [1080]}),
    "pnasnet_large": (pnasnet.build_pnasnet_large, pnasnet.pnasnet_large_arg_scope, pnasnet.large_imagenet_config,
                      IMAGE_SIZE,
                      {"Stem": [12, 12, 540], "Cell_0": [12, 12, 1080], "Cell_1": [6, 6, 2160],
                       "Cell_2": [3, 3, 4320], "global_pool": [4320]}),
}

# Variables of the published checkpoints (names and shapes from the architecture: NASNet-A Mobile has 44 base
# filters, its first stem cell a quarter of them; a cell's first combination reads its own 1x1 output on the
# left and the previous layer on the right; the aux head sits on cell 1 here, on cell 7 in the full net).
EXPECTED_VARIABLES = {
    "nasnet_mobile": {
        "conv0/weights": [3, 3, 3, 32], "conv0_bn/moving_variance": [32],
        "cell_stem_0/1x1/weights": [1, 1, 32, 11],
        "cell_stem_0/comb_iter_0/left/separable_5x5_1/depthwise_weights": [5, 5, 11, 1],
        "cell_stem_0/comb_iter_0/right/separable_7x7_1/depthwise_weights": [7, 7, 32, 1],
        "cell_stem_0/comb_iter_0/right/separable_7x7_1/pointwise_weights": [1, 1, 32, 11],
        "cell_stem_0/comb_iter_0/left/bn_sep_5x5_2/gamma": [11],
        "cell_stem_1/path1_conv/weights": [1, 1, 32, 11], "cell_stem_1/path2_conv/weights": [1, 1, 32, 11],
        "cell_stem_1/final_path_bn/beta": [22],
        "cell_0/path1_conv/weights": [1, 1, 44, 22], "cell_0/beginning_bn/moving_mean": [44],
        "cell_0/comb_iter_4/left/bn_sep_3x3_2/beta": [44],
        "reduction_cell_0/comb_iter_1/right/separable_7x7_1/depthwise_weights": [7, 7, 88, 1],
        "cell_1/path1_conv/weights": [1, 1, 264, 44],
        "aux_1/aux_logits/proj/weights": [1, 1, 528, 128], "aux_1/aux_logits/aux_bn0/beta": [128],
        "aux_1/aux_logits/Conv/weights": [1, 1, 128, 768], "aux_1/aux_logits/FC/weights": [768, 1001],
        "final_layer/FC/weights": [1056, 1001], "final_layer/FC/biases": [1001],
    },
    "pnasnet_large": {
        "conv0/weights": [3, 3, 3, 96],
        "cell_stem_0/1x1/weights": [1, 1, 96, 54],
        "cell_stem_0/comb_iter_0/left/separable_5x5_1/depthwise_weights": [5, 5, 96, 1],
        "cell_stem_1/comb_iter_0/left/separable_5x5_1/pointwise_weights": [1, 1, 108, 108],
        "cell_1/comb_iter_3/left/separable_3x3_2/pointwise_weights": [1, 1, 432, 432],
        "aux_1/aux_logits/FC/weights": [768, 1001], "final_layer/FC/weights": [4320, 1001],
    },
}


def three_cells(config):
    config.set_hparam("num_cells", 3)
    return config


def build(name, num_classes=1001, is_training=True, batch=BATCH, **config_changes):
    builder, arg_scope, make_config, size, _ = NETWORKS[name]
    config = three_cells(make_config())
    for key, value in config_changes.items():
        config.set_hparam(key, value)
    images = tf.random_uniform([batch, size, size, 3])
    with slim.arg_scope(arg_scope()):
        return builder(images, num_classes, is_training=is_training, config=config)


@pytest.mark.parametrize("name", NETWORKS)
def test_end_points_shapes_and_logits(name):
    with tf.Graph().as_default():
        tf.train.create_global_step()
        logits, end_points = build(name)
        shapes = {key: value.shape.as_list() for key, value in end_points.items()}
        variables = {variable.op.name: variable.shape.as_list() for variable in tf.global_variables()}
        assert tf.get_collection(tf.GraphKeys.UPDATE_OPS)  # batch norm trains with is_training
        assert {op.type for op in tf.get_default_graph().get_operations() if op.type.startswith("Relu")} == {"Relu"}
    expected = {key: [BATCH] + shape for key, shape in NETWORKS[name][4].items()}
    expected.update(AuxLogits=[BATCH, 1001], Logits=[BATCH, 1001], Predictions=[BATCH, 1001])
    assert shapes == expected
    assert logits is end_points["Logits"]
    wanted = EXPECTED_VARIABLES.get(name, {})
    assert {key: variables.get(key) for key in wanted} == wanted
    if name == "pnasnet_mobile":
        # Its second stem cell has 27 filters: the factorized reduction of the previous layer must give
        # 13 + 14 channels, so the max pool reading it needs no 1x1 convolution.
        assert "cell_stem_1/path2_conv/weights" in variables
        assert not any(key.startswith("cell_stem_1/comb_iter_0/right/1x1/") for key in variables)


def test_without_classes_the_pooled_features_come_back():
    with tf.Graph().as_default():
        features, end_points = build("pnasnet_mobile", num_classes=None)
    assert features.shape.as_list() == [BATCH, 1080]
    assert features.op.name.startswith("final_layer/Mean")
    assert not {"AuxLogits", "Logits", "Predictions"} & set(end_points)


def test_final_endpoint_stops_the_build():
    with tf.Graph().as_default():
        _, _, make_config, _, _ = NETWORKS["nasnet_mobile"]
        net, end_points = nasnet.build_nasnet_mobile(tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 3]), 10,
                                                     final_endpoint="Reduction_Cell_0",
                                                     config=three_cells(make_config()))
        assert net is end_points["Reduction_Cell_0"]
        assert not any(v.op.name.startswith("cell_1/") for v in tf.global_variables())
    assert sorted(end_points) == ["Cell_0", "Reduction_Cell_0", "Stem"]


def test_nchw_keeps_the_channels_first():
    with tf.Graph().as_default():
        tf.train.create_global_step()
        _, end_points = build("nasnet_mobile", data_format="NCHW")
    height, width, channels = NETWORKS["nasnet_mobile"][4]["Stem"]
    assert end_points["Stem"].shape.as_list() == [BATCH, channels, height, width]
    assert end_points["AuxLogits"].shape.as_list() == [BATCH, 1001]


def test_bounded_activation_turns_every_relu_into_relu6():
    with tf.Graph().as_default() as graph:
        build("pnasnet_mobile", batch=1, use_bounded_activation=True)
        relus = {node.op for node in graph.as_graph_def().node if node.op.startswith("Relu")}
    assert relus == {"Relu6"}


def test_drop_path_grows_with_training_and_is_off_in_inference():
    images = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype(np.float32)
    config = three_cells(nasnet.cifar_config())
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
            logits, _ = nasnet.build_nasnet_cifar(tf.constant(images), 10, config=config, current_step=step)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            at_start, at_end = ([session.run(logits, {step: value}) for _ in range(2)]
                                for value in (0, config.total_training_steps))
    # Batch norm uses batch statistics in training: only drop path can make two runs differ.
    np.testing.assert_array_equal(*at_start)
    assert np.abs(at_end[0] - at_end[1]).max() > 1e-4
    with tf.Graph().as_default() as graph:
        with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
            nasnet.build_nasnet_cifar(tf.constant(images), 10, is_training=False, config=config)
        assert not [node for node in graph.as_graph_def().node if node.op == "RandomUniform"]


def test_an_enclosing_batch_norm_mode_wins_over_is_training():
    # How freeze_batch_norm reaches NASNet's batch norms, which the builders call directly.
    with tf.Graph().as_default():
        tf.train.create_global_step()
        with slim.arg_scope([slim.batch_norm], is_training=False):
            build("pnasnet_mobile")
        assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)


def test_reduction_layers_split_the_cells_in_thirds():
    assert nasnet_utils.calc_reduction_layers(18, 2) == [6, 12]
    assert nasnet_utils.calc_reduction_layers(12, 2) == [4, 8]
    assert nasnet_utils.calc_reduction_layers(9, 2) == [3, 6]


def test_factorized_reduction_halves_the_size_and_keeps_odd_filter_counts():
    with tf.Graph().as_default():
        with slim.arg_scope([nasnet_utils.factorized_reduction, slim.conv2d, slim.batch_norm], data_format="NHWC"):
            reduced = nasnet_utils.factorized_reduction(tf.zeros([1, 9, 9, 8]), 27, stride=2)
            same_size = nasnet_utils.factorized_reduction(tf.zeros([1, 9, 9, 8]), 27, stride=1)
    assert reduced.shape.as_list() == [1, 5, 5, 27]
    assert same_size.shape.as_list() == [1, 9, 9, 27]


def test_configs_refuse_unknown_hyperparameters():
    config = nasnet.mobile_imagenet_config()
    with pytest.raises(KeyError, match="num_cels"):
        config.set_hparam("num_cels", 3)


def test_factory_batch_norm_options_reach_nasnets_batch_norms():
    images = np.random.default_rng(0).normal(3.0, 1.0, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    for freeze in (True, False):
        with tf.Graph().as_default() as graph:
            network_fn = nets_factory.get_network_fn("nasnet_mobile", 5, is_training=True, batch_norm_decay=0.5,
                                                     freeze_batch_norm=freeze)
            logits, _ = network_fn(tf.constant(images), config=three_cells(nasnet.mobile_imagenet_config()))
            assert logits.shape.as_list() == [2, 5]
            update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            if freeze:
                assert not update_ops
                continue
            moving_mean = slim.get_variables_by_name("conv0_bn/moving_mean")[0]
            with tf.Session() as session:
                session.run(tf.global_variables_initializer())
                conv0, _ = session.run([graph.get_tensor_by_name("conv0/Conv2D:0"), update_ops])
                # From 0, one update moves the mean (1 - decay) of the way to the batch mean.
                np.testing.assert_allclose(session.run(moving_mean), 0.5 * conv0.mean(axis=(0, 1, 2)), rtol=1e-4)


def test_nasnet_mobile_fine_tunes_only_its_logits(tmp_path, tiny_diabetic_dir):
    imagenet = save_imagenet_layout_checkpoint("nasnet_mobile", str(tmp_path / "imagenet"))
    assert imagenet.variable_shapes["final_layer/FC/weights"] == [1056, 1001]
    # Training adds the auxiliary head on cell 7 (of 12); its kernel fits the image size (4x4 at 224 px,
    # 1x1 at 96), so the whole head is excluded from the restore, as the logits are.
    # Batch norm trains (freezing is tested above): frozen on a random checkpoint's statistics (mean 0,
    # variance 1) it would not normalise, activations grow ~10x per cell and SGD on the heads overflows.
    check_fine_tuning("nasnet_mobile", imagenet.checkpoint, ["final_layer", "aux_7"], 96, str(tmp_path / "train"),
                      tiny_diabetic_dir)
