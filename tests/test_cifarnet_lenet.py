"""CifarNet and LeNet: upstream's end points, shapes and checkpoint variable names; they learn; the
factories offer them and their preprocessing."""
import numpy as np
import pytest

from nets import cifarnet, lenet, nets_factory
from preprocessing import preprocessing_factory
from slim_compat import slim, tf

CIFARNET_END_POINTS = {"conv1": [2, 32, 32, 64], "pool1": [2, 16, 16, 64], "conv2": [2, 16, 16, 64],
                       "pool2": [2, 8, 8, 64], "Flatten": [2, 4096], "fc3": [2, 384], "fc4": [2, 192],
                       "Logits": [2, 10], "Predictions": [2, 10]}
CIFARNET_VARIABLES = {"CifarNet/conv1/weights": [5, 5, 3, 64], "CifarNet/conv2/biases": [64],
                      "CifarNet/fc3/weights": [4096, 384], "CifarNet/fc4/weights": [384, 192],
                      "CifarNet/logits/weights": [192, 10], "CifarNet/logits/biases": [10]}
LENET_END_POINTS = {"conv1": [2, 28, 28, 32], "pool1": [2, 14, 14, 32], "conv2": [2, 14, 14, 64],
                    "pool2": [2, 7, 7, 64], "Flatten": [2, 3136], "fc3": [2, 1024], "dropout3": [2, 1024],
                    "Logits": [2, 10], "Predictions": [2, 10]}
LENET_VARIABLES = {"LeNet/conv1/weights": [5, 5, 1, 32], "LeNet/conv2/weights": [5, 5, 32, 64],
                   "LeNet/fc3/weights": [3136, 1024], "LeNet/fc4/weights": [1024, 10], "LeNet/fc4/biases": [10]}

NETWORKS = {"cifarnet": (cifarnet.cifarnet, cifarnet.cifarnet_arg_scope, 3, CIFARNET_END_POINTS, CIFARNET_VARIABLES),
            "lenet": (lenet.lenet, lenet.lenet_arg_scope, 1, LENET_END_POINTS, LENET_VARIABLES)}


@pytest.mark.parametrize("name", NETWORKS)
def test_end_points_and_variables_match_upstream(name):
    network, arg_scope, channels, end_point_shapes, variable_shapes = NETWORKS[name]
    size = network.default_image_size
    with tf.Graph().as_default():
        with slim.arg_scope(arg_scope()):
            logits, end_points = network(tf.zeros([2, size, size, channels]))
        shapes = {variable.op.name: variable.shape.as_list() for variable in tf.global_variables()}
    assert logits is end_points["Logits"]
    assert {key: value.shape.as_list() for key, value in end_points.items()} == end_point_shapes
    assert {key: shapes.get(key) for key in variable_shapes} == variable_shapes
    # Weights and biases of each layer, nothing else.
    assert len(shapes) == 2 * len({key.rsplit("/", 1)[0] for key in variable_shapes})


@pytest.mark.parametrize("name, width, logits_layer", [("cifarnet", 192, "CifarNet/logits"), ("lenet", 1024, "LeNet/fc4")])
def test_without_classes_the_features_come_back(name, width, logits_layer):
    network, arg_scope, channels, _, _ = NETWORKS[name]
    with tf.Graph().as_default():
        with slim.arg_scope(arg_scope()):
            features, end_points = network(tf.zeros([3, network.default_image_size, network.default_image_size,
                                                     channels]), num_classes=None)
        assert features.shape.as_list() == [3, width]
        assert "Logits" not in end_points
        assert not slim.get_variables(logits_layer)


@pytest.mark.parametrize("name", NETWORKS)
def test_a_few_training_steps_fit_a_tiny_batch(name):
    network, arg_scope, channels, _, _ = NETWORKS[name]
    size = network.default_image_size
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8, size, size, channels)).astype(np.float32)
    labels = np.arange(8) % 10
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        with slim.arg_scope(arg_scope()):
            logits, _ = network(tf.constant(images), is_training=True, dropout_keep_prob=1.0)
        loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            first = session.run(loss)
            for _ in range(15):
                session.run(train_op)
            assert session.run(loss) < 0.5 * first


@pytest.mark.parametrize("name, channels", [("cifarnet", 3), ("lenet", 1)])
def test_factory_builds_them_and_refuses_batch_norm_options(name, channels):
    network_fn = nets_factory.get_network_fn(name, num_classes=5, weight_decay=0.004, is_training=True)
    size = network_fn.default_image_size
    with tf.Graph().as_default():
        logits, end_points = network_fn(tf.zeros([2, size, size, channels]))
        assert logits.shape.as_list() == end_points["Predictions"].shape.as_list() == [2, 5]
        assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    with pytest.raises(ValueError, match=f"{name} has no batch norm"):
        nets_factory.get_network_fn(name, 5, freeze_batch_norm=True)


def run_preprocessing(name, image, size, is_training):
    with tf.Graph().as_default(), tf.Session() as session:
        preprocessing_fn = preprocessing_factory.get_preprocessing(name, is_training=is_training)
        return session.run(preprocessing_fn(tf.constant(image), size, size, add_image_summaries=False))


@pytest.mark.parametrize("is_training", [False, True])
def test_cifarnet_preprocessing_crops_and_standardises(is_training):
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    processed = run_preprocessing("cifarnet", image, 32, is_training)
    assert processed.shape == (32, 32, 3)
    np.testing.assert_allclose([processed.mean(), processed.std()], [0.0, 1.0], atol=1e-3)
    if not is_training:
        centre = image[4:36, 4:36].astype(np.float32)
        np.testing.assert_allclose(processed, (centre - centre.mean()) / centre.std(), atol=1e-3)


def test_lenet_preprocessing_maps_grey_levels_to_minus_one_one():
    image = np.arange(30 * 30, dtype=np.uint8).reshape(30, 30, 1)
    processed = run_preprocessing("lenet", image, 28, True)
    np.testing.assert_allclose(processed, (image[1:29, 1:29].astype(np.float32) - 128) / 128)
