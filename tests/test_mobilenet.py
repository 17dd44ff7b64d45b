"""MobileNet V1/V2/V3/EdgeTPU: end points, shapes and the variable layout of upstream's published checkpoints,
the factory's batch-norm options, and fine-tuning on diabetic TFRecords from a checkpoint of that layout.

Built at 64 px (upstream's size is 224) to stay quick; the depths and variable shapes
do not depend on the input size.
"""
import numpy as np
import pytest

from nets import mobilenet_v1, nets_factory
from nets.mobilenet import conv_blocks, mobilenet, mobilenet_v2, mobilenet_v3
from slim_compat import slim, tf
from tests.fine_tuning import check_fine_tuning, save_imagenet_layout_checkpoint
from tests.test_nets_factory import first_moving_mean_after_one_update

SIZE = 64


def build(network_fn, size=SIZE, batch=2, **kwargs):
    """Builds `network_fn` in a fresh graph; returns (output, end points, {variable name: shape})."""
    with tf.Graph().as_default():
        output, end_points = network_fn(tf.zeros([batch, size, size, 3]), **kwargs)
        shapes = {variable.op.name: variable.shape.as_list() for variable in tf.global_variables()}
    return output, end_points, shapes


def spatial_and_depth(tensor):
    return tensor.shape.as_list()[1:]


V1_LAYERS = ["Conv2d_0"] + [f"Conv2d_{i}_{kind}" for i in range(1, 14) for kind in ("depthwise", "pointwise")]


def test_mobilenet_v1_end_points_and_checkpoint_layout():
    logits, end_points, shapes = build(mobilenet_v1.mobilenet_v1, num_classes=1001)
    assert logits.shape.as_list() == [2, 1001]
    assert set(V1_LAYERS) <= set(end_points)
    assert spatial_and_depth(end_points["Conv2d_0"]) == [32, 32, 32]
    assert spatial_and_depth(end_points["Conv2d_2_depthwise"]) == [16, 16, 64]
    assert spatial_and_depth(end_points["Conv2d_11_pointwise"]) == [4, 4, 512]
    assert spatial_and_depth(end_points["Conv2d_13_pointwise"]) == [2, 2, 1024]
    # The 7x7 pool shrinks to the 2x2 map of a small input.
    assert spatial_and_depth(end_points["AvgPool_1a"]) == [1, 1, 1024]
    assert end_points["Predictions"].shape.as_list() == [2, 1001]
    assert shapes["MobilenetV1/Conv2d_0/weights"] == [3, 3, 3, 32]
    assert shapes["MobilenetV1/Conv2d_1_depthwise/depthwise_weights"] == [3, 3, 32, 1]
    assert shapes["MobilenetV1/Conv2d_13_pointwise/weights"] == [1, 1, 1024, 1024]
    assert shapes["MobilenetV1/Conv2d_13_pointwise/BatchNorm/moving_variance"] == [1024]
    assert shapes["MobilenetV1/Logits/Conv2d_1c_1x1/biases"] == [1001]
    # 27 convolutions with batch norm (beta, moving mean and variance), plus the classifier.
    assert len(shapes) == 27 * 4 + 2


@pytest.mark.parametrize("variant, depth", [(mobilenet_v1.mobilenet_v1_075, 768), (mobilenet_v1.mobilenet_v1_025, 256)])
def test_mobilenet_v1_narrow_variants(variant, depth):
    assert variant.default_image_size == 224
    _, end_points, _ = build(variant, num_classes=5)
    assert spatial_and_depth(end_points["Conv2d_13_pointwise"]) == [2, 2, depth]
    # min_depth 8 bounds the 0.25 stem (32 * 0.25 = 8) from below.
    assert end_points["Conv2d_0"].shape.as_list()[3] == max(8, depth // 32)


def test_mobilenet_v1_output_stride_and_explicit_padding_keep_same_padding_shapes():
    def base(**kwargs):
        return lambda images: mobilenet_v1.mobilenet_v1_base(images, **kwargs)

    _, same, _ = build(base())
    _, explicit, _ = build(base(use_explicit_padding=True))
    _, atrous, _ = build(base(output_stride=8))
    assert {k: spatial_and_depth(v) for k, v in same.items()} == {k: spatial_and_depth(v) for k, v in explicit.items()}
    assert spatial_and_depth(atrous["Conv2d_13_pointwise"]) == [8, 8, 1024]
    _, first_layers, _ = build(base(final_endpoint="Conv2d_3_depthwise"))
    assert list(first_layers) == V1_LAYERS[:6]


def test_mobilenet_v1_global_pool_takes_any_input_size():
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [1, None, None, 3])
        logits, end_points = mobilenet_v1.mobilenet_v1(images, num_classes=3, global_pool=True, is_training=False)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            features, output = session.run([end_points["Conv2d_13_pointwise"], logits],
                                           {images: np.zeros([1, 70, 100, 3], np.float32)})
    assert features.shape == (1, 3, 4, 1024)
    assert output.shape == (1, 3)


def test_mobilenet_v2_end_points_and_checkpoint_layout():
    logits, end_points, shapes = build(mobilenet_v2.mobilenet)
    assert logits.shape.as_list() == [2, 1001]
    assert [spatial_and_depth(end_points[f"layer_{i}"]) for i in (1, 2, 4, 7, 11, 14, 17, 18, 19)] == [
        [32, 32, 32], [32, 32, 16], [16, 16, 24], [8, 8, 32], [4, 4, 64], [4, 4, 96], [2, 2, 160], [2, 2, 320],
        [2, 2, 1280]]
    assert spatial_and_depth(end_points["layer_5/expansion_output"]) == [16, 16, 144]
    assert "layer_2/expansion_output" not in end_points  # expansion factor 1: no expansion layer
    assert spatial_and_depth(end_points["global_pool"]) == [1, 1, 1280]
    assert shapes["MobilenetV2/Conv/weights"] == [3, 3, 3, 32]
    assert shapes["MobilenetV2/expanded_conv/depthwise/depthwise_weights"] == [3, 3, 32, 1]
    assert shapes["MobilenetV2/expanded_conv_1/expand/weights"] == [1, 1, 16, 96]
    assert shapes["MobilenetV2/expanded_conv_16/project/weights"] == [1, 1, 960, 320]
    assert shapes["MobilenetV2/expanded_conv_16/project/BatchNorm/gamma"] == [320]
    assert shapes["MobilenetV2/Conv_1/weights"] == [1, 1, 320, 1280]
    assert shapes["MobilenetV2/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 1280, 1001]
    assert len(shapes) == 262


@pytest.mark.slow
def test_mobilenet_v2_multipliers_round_to_eight_and_035_keeps_a_full_width_last_layer():
    assert mobilenet_v2.mobilenet_v2_140.default_image_size == 224
    _, _, wide = build(mobilenet_v2.mobilenet_v2_140, num_classes=5)
    _, _, narrow = build(mobilenet_v2.mobilenet_v2_035, num_classes=5)
    assert wide["MobilenetV2/Conv/weights"] == [3, 3, 3, 48]  # 32 * 1.4 = 44.8 -> 48
    assert wide["MobilenetV2/Conv_1/weights"] == [1, 1, 448, 1792]
    assert narrow["MobilenetV2/Conv/weights"] == [3, 3, 3, 16]
    assert narrow["MobilenetV2/expanded_conv_16/project/weights"] == [1, 1, 336, 112]
    assert narrow["MobilenetV2/Conv_1/weights"] == [1, 1, 112, 1280]


@pytest.mark.slow
def test_mobilenet_v2_training_scope_trains_batch_norm_and_regularises():
    with tf.Graph().as_default():
        with slim.arg_scope(mobilenet_v2.training_scope(weight_decay=0.001, bn_decay=0.9)):
            mobilenet_v2.mobilenet(tf.zeros([2, SIZE, SIZE, 3]), num_classes=5, depth_multiplier=0.35)
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2 * 52  # moving mean and variance of 52 norms
        # L2 on the full convolutions, none on the depthwise ones.
        assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 52 - 17 + 1


def test_mobilenet_v2_rejects_the_generic_multiplier_argument():
    with pytest.raises(ValueError, match="depth_multiplier"):
        build(mobilenet_v2.mobilenet, multiplier=0.5)


V3_VARIANTS = [
    # network, last feature layer, its depth, embedding layer, embedding depth
    (mobilenet_v3.small, "layer_13", 576, "layer_15", 1024),
    (mobilenet_v3.large_minimalistic, "layer_17", 960, "layer_19", 1280),
    (mobilenet_v3.small_minimalistic, "layer_13", 576, "layer_15", 1024),
]


@pytest.mark.parametrize("network, features, depth, embedding, embedding_depth", V3_VARIANTS)
def test_mobilenet_v3_variants_pool_their_last_map_into_an_embedding(network, features, depth, embedding,
                                                                     embedding_depth):
    assert network.default_image_size == 224
    logits, end_points, shapes = build(network, num_classes=5)
    assert logits.shape.as_list() == [2, 5]
    assert spatial_and_depth(end_points[features]) == [2, 2, depth]
    assert spatial_and_depth(end_points[embedding]) == [1, 1, embedding_depth]
    minimalistic = network in (mobilenet_v3.large_minimalistic, mobilenet_v3.small_minimalistic)
    assert any("squeeze_excite" in name for name in shapes) != minimalistic


def test_mobilenet_v3_large_end_points_squeeze_excite_and_head_variables():
    _, end_points, large = build(mobilenet_v3.large)
    assert spatial_and_depth(end_points["layer_17"]) == [2, 2, 960]
    assert spatial_and_depth(end_points["layer_19"]) == [1, 1, 1280]
    # 72 expanded channels / 4 = 18, rounded to 16, which is > 10 % below 18, so 24.
    assert large["MobilenetV3/expanded_conv_3/squeeze_excite/Conv/weights"] == [1, 1, 72, 24]
    assert large["MobilenetV3/expanded_conv_3/squeeze_excite/Conv_1/weights"] == [1, 1, 24, 72]
    assert large["MobilenetV3/expanded_conv_3/depthwise/depthwise_weights"] == [5, 5, 72, 1]
    assert large["MobilenetV3/Conv_1/weights"] == [1, 1, 160, 960]
    # The embedding convolution has biases and no batch norm.
    assert large["MobilenetV3/Conv_2/biases"] == [1280]
    assert not any(name.startswith("MobilenetV3/Conv_2/BatchNorm") for name in large)
    assert large["MobilenetV3/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 1280, 1001]


@pytest.mark.slow
def test_mobilenet_edgetpu_fuses_its_early_blocks_and_075_keeps_the_last_layer():
    _, end_points, shapes = build(mobilenet_v3.edge_tpu, num_classes=5)
    assert end_points["layer_24"].name.startswith("MobilenetEdgeTPU/")
    assert spatial_and_depth(end_points["layer_24"]) == [2, 2, 1280]
    assert shapes["MobilenetEdgeTPU/expanded_conv_1/expand/weights"] == [3, 3, 16, 128]
    # Layers 2-10 (expanded_conv ... expanded_conv_8) are fused: no depthwise convolution.
    assert not any(name.startswith("MobilenetEdgeTPU/expanded_conv_8/depthwise") for name in shapes)
    assert shapes["MobilenetEdgeTPU/expanded_conv_9/depthwise/depthwise_weights"] == [3, 3, 384, 1]
    _, end_points, shapes = build(mobilenet_v3.edge_tpu_075, num_classes=5)
    assert shapes["MobilenetEdgeTPU/Conv/weights"] == [3, 3, 3, 24]
    assert spatial_and_depth(end_points["layer_24"]) == [2, 2, 1280]


def test_mobilenet_v3_base_runs_on_images_of_unknown_size():
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, None, None, 3])
        features, _ = mobilenet_v3.mobilenet(images, conv_defs=mobilenet_v3.V3_SMALL, base_only=True,
                                             final_endpoint="layer_13", depth_multiplier=0.5)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for height, width in [(64, 64), (96, 128)]:
                output = session.run(features, {images: np.zeros([1, height, width, 3], np.float32)})
                assert output.shape == (1, height // 32, width // 32, 288)


def test_hard_swish_values():
    with tf.Graph().as_default(), tf.Session() as session:
        values = session.run(mobilenet_v3.hard_swish(tf.constant([-4., -3., -1., 0., 1., 3., 4.])))
    np.testing.assert_allclose(values, [0, 0, -1 / 3, 0, 2 / 3, 3, 4], atol=1e-6)


@pytest.mark.parametrize("value, divisor, min_value, expected", [
    (44.8, 8, None, 48), (18, 8, None, 24), (0.32, 8, 8, 8), (112, 8, None, 112), (100, 16, 32, 96)])
def test_make_divisible(value, divisor, min_value, expected):
    assert conv_blocks._make_divisible(value, divisor, min_value) == expected


def test_split_conv_connects_groups_one_to_one():
    with tf.Graph().as_default():
        output = conv_blocks.split_conv(tf.zeros([1, 4, 4, 32]), 48, num_ways=2, scope="project")
        shapes = {variable.op.name: variable.shape.as_list() for variable in tf.global_variables()}
    assert output.shape.as_list() == [1, 4, 4, 48]
    assert shapes == {"project_part_0/weights": [1, 1, 16, 24], "project_part_0/biases": [24],
                      "project_part_1/weights": [1, 1, 16, 24], "project_part_1/biases": [24]}


def test_output_stride_must_be_even():
    with pytest.raises(ValueError, match="Output stride"):
        build(lambda images: mobilenet.mobilenet_base(images, conv_defs=mobilenet_v2.V2_DEF, output_stride=3))


# One name per arg scope (V1's, V2's and V3's training scope), each a depth-multiplier variant.
@pytest.mark.parametrize("name", ["mobilenet_v1_025", "mobilenet_v2_035", "mobilenet_edgetpu_075"])
def test_factory_builds_mobilenets_whose_frozen_batch_norm_has_nothing_to_update(name):
    network_fn = nets_factory.get_network_fn(name, num_classes=5, weight_decay=0.00004, is_training=True,
                                             freeze_batch_norm=True)
    assert network_fn.default_image_size == 224
    with tf.Graph().as_default():
        logits, end_points = network_fn(tf.zeros([2, SIZE, SIZE, 3]))
        assert logits.shape.as_list() == end_points["Predictions"].shape.as_list() == [2, 5]
        assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
        assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)


def test_factory_batch_norm_decay_reaches_mobilenet_v2_training_scope():
    default, _ = first_moving_mean_after_one_update("mobilenet_v2_035", size=32)
    fast, _ = first_moving_mean_after_one_update("mobilenet_v2_035", size=32, batch_norm_decay=0.5)
    # From 0, one update moves the mean (1 - decay) of the way to the batch mean; V2's own decay is 0.997.
    assert np.abs(fast).max() > 0
    np.testing.assert_allclose(default / (1 - 0.997), fast / 0.5, rtol=1e-3)


# One network per generation; V2, the one most used on devices, with frozen batch norm.
@pytest.mark.parametrize("name, logits_scope, freeze_batch_norm", [
    ("mobilenet_v1", "MobilenetV1/Logits", False),
    ("mobilenet_v2", "MobilenetV2/Logits", True),
    ("mobilenet_v3_small", "MobilenetV3/Logits", False),
])
@pytest.mark.slow
def test_mobilenets_fine_tune_only_their_logits(name, logits_scope, freeze_batch_norm, tmp_path, tiny_diabetic_dir):
    imagenet = save_imagenet_layout_checkpoint(name, str(tmp_path / "imagenet"))
    assert imagenet.variable_shapes[f"{logits_scope}/Conv2d_1c_1x1/biases"] == [1001]
    check_fine_tuning(name, imagenet.checkpoint, [logits_scope], 96, str(tmp_path / "train"), tiny_diabetic_dir,
                      freeze_batch_norm=freeze_batch_norm)
