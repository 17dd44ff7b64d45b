"""I3D and S3D-G: upstream's end points, Inception V1 variable names and 3-D shapes on small clips; the
image scripts refuse them with one line, export takes clips."""
import types

import numpy as np
import pytest

from inference import model_runner
from nets import i3d, i3d_utils, nets_factory, s3dg
from serving import saved_model_export
from slim_compat import slim, tf
from training import trainer

BASE_END_POINTS = ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3", "MaxPool_3a_3x3",
                   "Mixed_3b", "Mixed_3c", "MaxPool_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
                   "Mixed_4f", "MaxPool_5a_2x2", "Mixed_5b", "Mixed_5c"]
# A clip of 8 frames of 64 x 64: the first convolution and the 2x2 pools halve; the 3x3x3 pool halves time too.
CLIP = [2, 8, 64, 64, 3]
END_POINT_SHAPES = {"Conv2d_1a_7x7": [4, 32, 32, 64], "MaxPool_2a_3x3": [4, 16, 16, 64],
                    "Conv2d_2b_1x1": [4, 16, 16, 64], "Conv2d_2c_3x3": [4, 16, 16, 192],
                    "MaxPool_3a_3x3": [4, 8, 8, 192], "Mixed_3b": [4, 8, 8, 256], "Mixed_3c": [4, 8, 8, 480],
                    "MaxPool_4a_3x3": [2, 4, 4, 480], "Mixed_4b": [2, 4, 4, 512], "Mixed_4c": [2, 4, 4, 512],
                    "Mixed_4d": [2, 4, 4, 512], "Mixed_4e": [2, 4, 4, 528], "Mixed_4f": [2, 4, 4, 832],
                    "MaxPool_5a_2x2": [1, 2, 2, 832], "Mixed_5b": [1, 2, 2, 832], "Mixed_5c": [1, 2, 2, 1024]}
VARIABLES = {
    "i3d": {"InceptionV1/Conv2d_1a_7x7/weights": [7, 7, 7, 3, 64],
            "InceptionV1/Conv2d_2c_3x3/weights": [3, 3, 3, 64, 192],
            "InceptionV1/Mixed_4b/Branch_2/Conv2d_0b_3x3/weights": [3, 3, 3, 16, 48],
            "InceptionV1/Mixed_5c/Branch_3/Conv2d_0b_1x1/BatchNorm/moving_variance": [128],
            "InceptionV1/Logits/Conv2d_0c_1x1/weights": [1, 1, 1, 1024, 400]},
    "s3dg": {"InceptionV1/Conv2d_1a_7x7/weights": [3, 7, 7, 3, 64],
             "InceptionV1/Conv2d_2c_3x3/weights": [1, 3, 3, 64, 192],
             "InceptionV1/Conv2d_2c_3x3/temporal/weights": [3, 1, 1, 192, 192],
             "InceptionV1/Conv2d_2c_3x3/temporal/biases": [192],
             "InceptionV1/Conv2d_2c_3x3/self_gating/transformer_W/weights": [1, 1, 1, 192, 192],
             "InceptionV1/Mixed_4b/Branch_0/Conv2d_0a_1x1/self_gating/transformer_W/weights": [1, 1, 1, 192, 192],
             "InceptionV1/Mixed_5c/Branch_1/Conv2d_0b_3x3/temporal/weights": [3, 1, 1, 384, 384],
             "InceptionV1/Logits/Conv2d_0c_1x1/biases": [400]},
}


@pytest.mark.parametrize("name", ["i3d", "s3dg"])
def test_factory_builds_them_on_clips_with_upstreams_names(name):
    freeze = name == "s3dg"  # freeze_batch_norm reaches their batch norms
    with tf.Graph().as_default():
        logits, end_points = nets_factory.get_network_fn(name, 400, is_training=True,
                                                         freeze_batch_norm=freeze)(tf.zeros(CLIP))
        variables = {variable.op.name: variable.shape.as_list() for variable in tf.global_variables()}
        assert tf.get_collection("moving_vars")
        assert bool(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) != freeze
    assert logits.shape.as_list() == [2, 400]
    assert list(end_points) == BASE_END_POINTS + ["Logits", "Predictions"]
    assert {key: end_points[key].shape.as_list()[1:] for key in END_POINT_SHAPES} == END_POINT_SHAPES
    assert {key: variables.get(key) for key in VARIABLES[name]} == VARIABLES[name]
    gating = [key for key in variables if "self_gating" in key]
    assert not gating if name == "i3d" else len(gating) == 1 + 4 * 9  # Conv2d_2c_3x3 and each branch of 9 blocks


def test_temporal_convolutions_start_as_the_identity():
    clip = np.random.default_rng(0).normal(size=[1, 5, 4, 4, 6]).astype(np.float32)
    with tf.Graph().as_default() as graph:
        with slim.arg_scope([i3d_utils.conv3d_spatiotemporal], separable=True):
            net = i3d_utils.conv3d_spatiotemporal(tf.constant(clip), 6, [3, 3, 3], scope="conv")
        kernel = slim.get_variables_by_name("conv/temporal/weights")[0]
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            spatial, output, kernel = session.run([graph.get_tensor_by_name("conv/BiasAdd:0"), net, kernel])
    assert kernel.shape == (3, 1, 1, 6, 6)
    np.testing.assert_array_equal(kernel[1, 0, 0], np.eye(6))
    np.testing.assert_allclose(output, spatial, atol=1e-6)


def test_base_stops_at_the_final_endpoint_and_gating_can_start_later():
    with tf.Graph().as_default():
        net, end_points = s3dg.s3dg_base(tf.zeros(CLIP), gating_startat="Mixed_4b", final_endpoint="Mixed_4b")
        gated = {variable.op.name.split("/")[1] for variable in tf.global_variables() if "self_gating" in variable.op.name}
    assert list(end_points) == BASE_END_POINTS[:BASE_END_POINTS.index("Mixed_4b") + 1]
    assert net is end_points["Mixed_4b"]
    assert gated == {"Mixed_4b"}


def test_i3d_base_is_the_ungated_3d_base():
    with tf.Graph().as_default():
        with slim.arg_scope(i3d.i3d_arg_scope()):
            _, end_points = i3d.i3d_base(tf.zeros(CLIP), final_endpoint="Conv2d_2c_3x3")
    assert end_points["Conv2d_2c_3x3"].shape.as_list() == [2, 4, 16, 16, 192]


def test_image_input_is_a_clear_error():
    with tf.Graph().as_default(), pytest.raises(ValueError, match="video network.*not a 4-D input"):
        s3dg.s3dg(tf.zeros([1, 64, 64, 3]), 5)


def test_image_scripts_refuse_video_networks_with_one_line_and_export_takes_clips():
    message = "--model_name=i3d is a video network"
    with pytest.raises(ValueError, match=message):
        trainer.check_flags(types.SimpleNamespace(dataset_dir="records", model_name="i3d"))
    with pytest.raises(ValueError, match=message):
        model_runner.ModelConfig("i3d", num_classes=5)
    with pytest.raises(ValueError, match=message):
        saved_model_export.inference_graph_def("i3d", 5)
    graph_def = saved_model_export.inference_graph_def("i3d", 5, image_size=64, batch_size=1, num_frames=4)
    placeholder = next(node for node in graph_def.node if node.name == saved_model_export.INPUT_NAME)
    assert [dim.size for dim in placeholder.attr["shape"].shape.dim] == [1, 4, 64, 64, 3]
