"""Inception V3 (nets/inception_v3.py) at any input size: both heads give [batch, classes], the
official checkpoint's variables restore, and where tf-slim's heads already fit the graph is tf-slim's."""
import numpy as np
import pytest
from tf_slim.nets import inception_v3 as tf_slim_inception_v3

from nets import inception_v3, nets_factory
from slim_compat import slim, tf
from tests.checkpoints import IMAGENET_CLASSES, imagenet_inception_v3_checkpoint  # noqa: F401  (pytest fixture)

BATCH = 2


# tf-slim's auxiliary head leaves a 5x5 grid at 512 px (the Kaggle recipe's size) and 3x3 at 400, its main
# head 4x4 and 2x2; None: a size known only when the graph runs.
@pytest.mark.parametrize("size", [400, 512, None])
def test_both_heads_give_batch_by_class_logits_at_any_size(size):
    with tf.Graph().as_default():
        network_fn = nets_factory.get_network_fn("inception_v3", num_classes=5, is_training=True)
        logits, end_points = network_fn(tf.placeholder(tf.float32, [BATCH, size, size, 3]))
        assert end_points["AuxLogits"].shape.as_list() == [BATCH, 5]
        assert logits.shape.as_list() == end_points["Predictions"].shape.as_list() == [BATCH, 5]
        assert end_points["PreLogits"].shape.as_list() == [BATCH, 1, 1, 2048]


@pytest.mark.slow
@pytest.mark.parametrize("size", [400, 512])
def test_the_imagenet_checkpoint_restores_and_grades_at_other_sizes(size, imagenet_inception_v3_checkpoint):
    with tf.Graph().as_default():
        network_fn = nets_factory.get_network_fn("inception_v3", num_classes=IMAGENET_CLASSES)
        images = tf.random.uniform([BATCH, size, size, 3], -1.0, 1.0, seed=1)
        _, end_points = network_fn(images)
        with tf.Session() as session:
            tf.train.Saver(slim.get_model_variables()).restore(session, imagenet_inception_v3_checkpoint)
            aux_logits, logits = session.run([end_points["AuxLogits"], end_points["Logits"]])
    assert aux_logits.shape == logits.shape == (BATCH, IMAGENET_CLASSES)
    assert np.isfinite(aux_logits).all() and np.isfinite(logits).all()


def graph_operations(network, size):
    with tf.Graph().as_default() as graph:
        with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
            network(tf.placeholder(tf.float32, [BATCH, size, size, 3]), num_classes=5)
        return [(operation.name, operation.type) for operation in graph.get_operations()]


# 299: the official size; 128: the demo's, where tf-slim shrinks the auxiliary kernel. Same operations in
# the same order also means the same initial weights from a seeded run.
@pytest.mark.slow
@pytest.mark.parametrize("size", [299, 128])
def test_the_graph_is_tf_slims_where_its_heads_fit(size):
    assert graph_operations(inception_v3.inception_v3, size) == graph_operations(
        tf_slim_inception_v3.inception_v3, size)
