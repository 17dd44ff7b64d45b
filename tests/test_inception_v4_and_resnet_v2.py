"""Inception V4 and Inception-ResNet-v2: upstream's end points, shapes and checkpoint variable names,
and fine-tuning on diabetic TFRecords from a checkpoint of their ImageNet layout.

Graphs are built at upstream's 299 x 299 only for shape inference and saving; training runs at 128.
"""
import pytest

from nets import inception
from slim_compat import slim, tf
from tests.fine_tuning import IMAGENET_CLASSES, check_fine_tuning, save_imagenet_layout_checkpoint

pytestmark = pytest.mark.slow  # builds Inception V4 and Inception-ResNet V2 at 299 px and fine-tunes them


def build(network, arg_scope, image_size, batch_size=1, **kwargs):
    """Builds `network` at `image_size` in a fresh graph; returns (output, end points, {variable: shape})."""
    with tf.Graph().as_default():
        with slim.arg_scope(arg_scope()):
            output, end_points = network(tf.zeros([batch_size, image_size, image_size, 3]), **kwargs)
        shapes = {variable.op.name: variable.shape.as_list() for variable in slim.get_model_variables()}
    return output, end_points, shapes


def shapes_of(end_points):
    return {name: shape for name, (shape, _) in end_points.items()}


def op_name(end_points, name):
    return end_points[name][1]


@pytest.fixture(scope="module")
def inception_v4_imagenet(tmp_path_factory):
    """Inception V4 from the factory, 1001 classes at 299 px: its checkpoint, end points and variables."""
    return save_imagenet_layout_checkpoint("inception_v4", str(tmp_path_factory.mktemp("inception_v4")))


@pytest.fixture(scope="module")
def inception_resnet_v2_imagenet(tmp_path_factory):
    """Inception-ResNet-v2 from the factory, 1001 classes at 299 px: its checkpoint, end points and variables."""
    return save_imagenet_layout_checkpoint("inception_resnet_v2", str(tmp_path_factory.mktemp("inception_resnet_v2")))


def test_inception_v4_end_points_have_upstreams_shapes(inception_v4_imagenet):
    end_points = inception_v4_imagenet.end_points
    grid = {"Conv2d_1a_3x3": [149, 32], "Conv2d_2a_3x3": [147, 32], "Conv2d_2b_3x3": [147, 64],
            "Mixed_3a": [73, 160], "Mixed_4a": [71, 192], "Mixed_5a": [35, 384],
            **{f"Mixed_5{letter}": [35, 384] for letter in "bcde"},
            **{f"Mixed_6{letter}": [17, 1024] for letter in "abcdefgh"},
            **{f"Mixed_7{letter}": [8, 1536] for letter in "abcd"}}
    expected = {name: [1, size, size, depth] for name, (size, depth) in grid.items()}
    expected.update({"global_pool": [1, 1, 1, 1536], "PreLogitsFlatten": [1, 1536],
                     **{name: [1, IMAGENET_CLASSES] for name in ("AuxLogits", "Logits", "Predictions")}})
    assert shapes_of(end_points) == expected
    assert op_name(end_points, "Logits").startswith("InceptionV4/Logits/Logits/")
    assert op_name(end_points, "AuxLogits").startswith("InceptionV4/AuxLogits/")
    assert op_name(end_points, "Predictions") == "InceptionV4/Logits/Predictions"
    # As in tf-slim's Inception V3, the base re-enters the network's scope: InceptionV4/InceptionV4/Mixed_5b/...
    assert all(op_name(end_points, name).startswith(f"InceptionV4/InceptionV4/{name}/") for name in grid)


def test_inception_v4_variables_carry_the_published_checkpoint_names(inception_v4_imagenet):
    shapes = inception_v4_imagenet.variable_shapes
    assert shapes["InceptionV4/Conv2d_1a_3x3/weights"] == [3, 3, 3, 32]
    assert shapes["InceptionV4/Mixed_4a/Branch_1/Conv2d_0b_1x7/weights"] == [1, 7, 64, 64]
    assert shapes["InceptionV4/Mixed_6h/Branch_2/Conv2d_0e_1x7/weights"] == [1, 7, 224, 256]
    assert shapes["InceptionV4/Mixed_7d/Branch_2/Conv2d_0e_3x1/weights"] == [3, 1, 512, 256]
    assert shapes["InceptionV4/AuxLogits/Conv2d_2a/weights"] == [5, 5, 128, 768]
    assert shapes["InceptionV4/AuxLogits/Aux_logits/weights"] == [768, IMAGENET_CLASSES]
    assert shapes["InceptionV4/Logits/Logits/weights"] == [1536, IMAGENET_CLASSES]
    assert "InceptionV4/Mixed_7d/Branch_3/Conv2d_0b_1x1/BatchNorm/moving_variance" in shapes
    # Upstream's arg scope learns no batch-norm gamma: the published checkpoint has none.
    assert not [name for name in shapes if name.endswith("gamma")]
    # 149 convolutions and 2 in the auxiliary head (weights, beta, moving mean and variance each),
    # 2 fully connected layers (weights, biases).
    assert len(shapes) == (149 + 2) * 4 + 2 * 2


def test_inception_v4_base_stops_at_the_final_endpoint():
    net, end_points, shapes = build(inception.inception_v4_base, inception.inception_v4_arg_scope, 299,
                                    final_endpoint="Mixed_4a")
    assert list(end_points) == ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Mixed_3a", "Mixed_4a"]
    assert net.op.name.startswith("InceptionV4/Mixed_4a") and net.shape.as_list() == [1, 71, 71, 192]
    assert not [name for name in shapes if "Mixed_5" in name]
    with tf.Graph().as_default(), pytest.raises(ValueError, match="Unknown final endpoint Mixed_8a"):
        inception.inception_v4_base(tf.zeros([1, 299, 299, 3]), final_endpoint="Mixed_8a")


def test_inception_resnet_v2_end_points_have_upstreams_shapes(inception_resnet_v2_imagenet):
    end_points = inception_resnet_v2_imagenet.end_points
    grid = {"Conv2d_1a_3x3": [149, 32], "Conv2d_2a_3x3": [147, 32], "Conv2d_2b_3x3": [147, 64],
            "MaxPool_3a_3x3": [73, 64], "Conv2d_3b_1x1": [73, 80], "Conv2d_4a_3x3": [71, 192],
            "MaxPool_5a_3x3": [35, 192], "Mixed_5b": [35, 320], "Mixed_6a": [17, 1088], "PreAuxLogits": [17, 1088],
            "Mixed_7a": [8, 2080], "Conv2d_7b_1x1": [8, 1536]}
    expected = {name: [1, size, size, depth] for name, (size, depth) in grid.items()}
    expected.update({"global_pool": [1, 1, 1, 1536], "PreLogitsFlatten": [1, 1536],
                     **{name: [1, IMAGENET_CLASSES] for name in ("AuxLogits", "Logits", "Predictions")}})
    assert shapes_of(end_points) == expected
    assert op_name(end_points, "Logits").startswith("InceptionResnetV2/Logits/Logits/")
    assert op_name(end_points, "AuxLogits").startswith("InceptionResnetV2/AuxLogits/")


def test_inception_resnet_v2_variables_carry_the_published_checkpoint_names(inception_resnet_v2_imagenet):
    shapes = inception_resnet_v2_imagenet.variable_shapes
    assert shapes["InceptionResnetV2/Conv2d_1a_3x3/weights"] == [3, 3, 3, 32]
    assert shapes["InceptionResnetV2/Mixed_5b/Branch_1/Conv2d_0b_5x5/weights"] == [5, 5, 48, 64]
    assert shapes["InceptionResnetV2/Repeat/block35_10/Conv2d_1x1/weights"] == [1, 1, 128, 320]
    assert shapes["InceptionResnetV2/Repeat/block35_10/Conv2d_1x1/biases"] == [320]
    assert shapes["InceptionResnetV2/Repeat_1/block17_20/Branch_1/Conv2d_0c_7x1/weights"] == [7, 1, 160, 192]
    assert shapes["InceptionResnetV2/Repeat_2/block8_9/Branch_1/Conv2d_0c_3x1/weights"] == [3, 1, 224, 256]
    assert shapes["InceptionResnetV2/Block8/Conv2d_1x1/weights"] == [1, 1, 448, 2080]
    assert shapes["InceptionResnetV2/Conv2d_7b_1x1/weights"] == [1, 1, 2080, 1536]
    assert shapes["InceptionResnetV2/AuxLogits/Conv2d_2a_5x5/weights"] == [5, 5, 128, 768]
    assert shapes["InceptionResnetV2/AuxLogits/Logits/weights"] == [768, IMAGENET_CLASSES]
    assert shapes["InceptionResnetV2/Logits/Logits/weights"] == [1536, IMAGENET_CLASSES]
    assert "InceptionResnetV2/Repeat_1/block17_11/BatchNorm/beta" not in shapes
    assert not [name for name in shapes if name.endswith("gamma")]
    assert "InceptionResnetV2/Repeat/block35_11/Conv2d_1x1/weights" not in shapes
    assert "InceptionResnetV2/Repeat_2/block8_10/Conv2d_1x1/weights" not in shapes


@pytest.mark.parametrize("options, final_endpoint, grids", [
    ({"align_feature_maps": True}, "MaxPool_5a_3x3",
     {"Conv2d_2a_3x3": 150, "MaxPool_3a_3x3": 75, "MaxPool_5a_3x3": 38}),
    ({"output_stride": 8}, "Mixed_6a", {"MaxPool_5a_3x3": 35, "Mixed_5b": 35, "Mixed_6a": 33}),
])
def test_inception_resnet_v2_base_padding_and_output_stride(options, final_endpoint, grids):
    _, end_points, _ = build(inception.inception_resnet_v2_base, inception.inception_resnet_v2_arg_scope, 299,
                             final_endpoint=final_endpoint, **options)
    assert list(end_points)[-1] == final_endpoint
    assert {name: end_points[name].shape.as_list()[1] for name in grids} == grids


def test_inception_resnet_v2_refuses_output_stride_8_past_pre_aux_logits():
    with tf.Graph().as_default(), pytest.raises(ValueError, match="output_stride==8 is only supported up to"):
        inception.inception_resnet_v2_base(tf.zeros([1, 299, 299, 3]), output_stride=8)


def test_batch_norm_scale_adds_gamma_to_every_batch_norm():
    _, _, shapes = build(inception.inception_v4_base, lambda: inception.inception_v4_arg_scope(batch_norm_scale=True),
                         299, final_endpoint="Mixed_3a")
    moving_means = [name for name in shapes if name.endswith("moving_mean")]
    assert moving_means and all(name.replace("moving_mean", "gamma") in shapes for name in moving_means)


def test_inception_v4_fine_tunes_only_its_logits(inception_v4_imagenet, tmp_path, tiny_diabetic_dir):
    check_fine_tuning("inception_v4", inception_v4_imagenet.checkpoint, ["InceptionV4/Logits", "InceptionV4/AuxLogits"],
                      128, str(tmp_path), tiny_diabetic_dir)


def test_inception_resnet_v2_fine_tunes_only_its_logits_with_frozen_batch_norm(
        inception_resnet_v2_imagenet, tmp_path, tiny_diabetic_dir):
    check_fine_tuning("inception_resnet_v2", inception_resnet_v2_imagenet.checkpoint,
                      ["InceptionResnetV2/Logits", "InceptionResnetV2/AuxLogits"], 128, str(tmp_path),
                      tiny_diabetic_dir, freeze_batch_norm=True)
