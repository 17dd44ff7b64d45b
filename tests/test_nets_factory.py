"""nets_factory: every tf-slim network builds with 5 classes; batch-norm options act on the graph."""
import numpy as np
import pytest

from nets import nets_factory
from slim_compat import slim, tf

# Upstream's networks_map, in its order, with each network's default_image_size.
UPSTREAM_IMAGE_SIZES = {
    "alexnet_v2": 224, "cifarnet": 32, "overfeat": 231, "vgg_a": 224, "vgg_16": 224, "vgg_19": 224,
    "inception_v1": 224, "inception_v2": 224, "inception_v3": 299, "inception_v4": 299, "inception_resnet_v2": 299,
    "i3d": 224, "s3dg": 224, "lenet": 28,
    **{f"resnet_v{v}_{d}": 224 for v in (1, 2) for d in (50, 101, 152, 200)},
    **{name: 224 for name in ("mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025",
                              "mobilenet_v2", "mobilenet_v2_140", "mobilenet_v2_035", "mobilenet_v3_small",
                              "mobilenet_v3_large", "mobilenet_v3_small_minimalistic",
                              "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu", "mobilenet_edgetpu_075")},
    "nasnet_cifar": 32, "nasnet_mobile": 224, "nasnet_large": 331, "pnasnet_large": 331, "pnasnet_mobile": 224,
}


def test_every_network_has_upstreams_name_and_default_image_size():
    assert {name: nets_factory.get_network_fn(name, 5).default_image_size
            for name in nets_factory.networks_map} == {name: size for name, size in UPSTREAM_IMAGE_SIZES.items()
                                                       if name in nets_factory.networks_map}


def test_networks_keep_upstreams_order():
    upstream_order = [name for name in UPSTREAM_IMAGE_SIZES if name in nets_factory.networks_map]
    assert list(nets_factory.networks_map) == upstream_order
    assert list(nets_factory.arg_scopes_map) == upstream_order


def test_upstream_module_layout_imports():
    from nets import alexnet, inception, overfeat, resnet_utils, resnet_v1, resnet_v2, vgg  # noqa: F401
    from nets import inception_resnet_v2, inception_utils, inception_v1, inception_v2, inception_v3, inception_v4

    assert inception.inception_v4 is inception_v4.inception_v4
    assert inception.inception_resnet_v2 is inception_resnet_v2.inception_resnet_v2
    assert inception.inception_v3_base is inception_v3.inception_v3_base
    assert inception_v4.inception_v4_arg_scope is inception_utils.inception_arg_scope
    assert {inception_v1.inception_v1.default_image_size, inception_v2.inception_v2.default_image_size} == {224}
    assert resnet_v1.resnet_v1_101.default_image_size == resnet_v2.resnet_v2_152.default_image_size == 224


# One network per family: the deeper ResNets differ only in block counts and take long to build.
@pytest.mark.slow
@pytest.mark.parametrize("name", ["alexnet_v2", "overfeat", "vgg_a", "inception_v1", "inception_v2", "inception_v3",
                                  "resnet_v1_50", "resnet_v2_50"])
def test_each_network_gives_batch_by_class_logits_and_predictions(name):
    network_fn = nets_factory.get_network_fn(name, num_classes=5, weight_decay=0.00004, is_training=True)
    size = network_fn.default_image_size
    with tf.Graph().as_default():
        logits, end_points = network_fn(tf.zeros([2, size, size, 3]))
        assert logits.shape.as_list() == [2, 5]
        assert end_points["Predictions"].shape.as_list() == [2, 5]
        assert tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)


@pytest.mark.slow
def test_inception_v3_variables_carry_the_official_checkpoint_names():
    with tf.Graph().as_default():
        nets_factory.get_network_fn("inception_v3", 1001)(tf.zeros([1, 299, 299, 3]))
        shapes = {variable.op.name: variable.shape.as_list() for variable in slim.get_model_variables()}
    assert shapes["InceptionV3/Conv2d_1a_3x3/weights"] == [3, 3, 3, 32]
    assert shapes["InceptionV3/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 2048, 1001]
    assert shapes["InceptionV3/AuxLogits/Conv2d_2b_1x1/biases"] == [1001]
    assert "InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/moving_variance" in shapes


def test_unknown_network_is_a_clear_error():
    with pytest.raises(ValueError, match="Name of network unknown inception_v9"):
        nets_factory.get_network_fn("inception_v9", 5)


def first_moving_mean_after_one_update(name="inception_v3", size=128, **options):
    images = np.random.default_rng(0).normal(3.0, 1.0, (2, size, size, 3)).astype(np.float32)
    with tf.Graph().as_default():
        # The same initial weights in every call, so the batch means agree.
        tf.set_random_seed(0)
        nets_factory.get_network_fn(name, 5, is_training=True, **options)(tf.constant(images))
        moving_mean = slim.get_variables_by_name("moving_mean")[0]
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(update_ops)
            return session.run(moving_mean), len(update_ops)


@pytest.mark.slow
def test_batch_norm_decay_sets_how_fast_moving_statistics_follow_the_batch():
    slow, _ = first_moving_mean_after_one_update()
    fast, _ = first_moving_mean_after_one_update(batch_norm_decay=0.5)
    # From 0, one update moves the mean (1 - decay) of the way to the batch mean.
    np.testing.assert_allclose(slow / (1 - 0.9997), fast / 0.5, rtol=1e-3)


@pytest.mark.slow
def test_freeze_batch_norm_leaves_no_statistics_to_update():
    frozen, update_count = first_moving_mean_after_one_update(freeze_batch_norm=True)
    assert update_count == 0
    np.testing.assert_array_equal(frozen, 0.0)


@pytest.mark.slow
def test_batch_norm_options_are_refused_where_they_cannot_act():
    with pytest.raises(ValueError, match="vgg_16 has no batch norm"):
        nets_factory.get_network_fn("vgg_16", 5, batch_norm_decay=0.9)
    with tf.Graph().as_default(), pytest.raises(ValueError, match="resnet_v2_50 has batch norms outside"):
        nets_factory.get_network_fn("resnet_v2_50", 5, is_training=True, freeze_batch_norm=True)(
            tf.zeros([1, 64, 64, 3]))


@pytest.mark.slow
@pytest.mark.parametrize("freeze_batch_norm", [False, True])
def test_enclosing_arg_scopes_at_call_time_reach_the_network_variables(freeze_batch_norm):
    # model_deploy puts variables on the parameter servers through an arg scope around the call;
    # a network function made before that scope was entered must still honour it.
    network_fn = nets_factory.get_network_fn("inception_v1", 5, is_training=True, freeze_batch_norm=freeze_batch_norm)
    with tf.Graph().as_default():
        with slim.arg_scope([slim.model_variable, slim.variable], device="/job:ps/task:0/device:CPU:0"):
            network_fn(tf.zeros([1, 224, 224, 3]))
        devices = {variable.device for variable in tf.global_variables()}
    assert devices == {"/job:ps/task:0/device:CPU:0"}
