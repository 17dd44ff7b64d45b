"""A stand-in for the ImageNet inception_v3.ckpt: same variable names and shapes, random weights."""
import os

import pytest

IMAGENET_CLASSES = 1001


def save_inception_v3_checkpoint(directory):
    """Saves a tf-slim Inception V3 with 1001 classes at 299x299, as the official checkpoint; returns its path."""
    from slim_compat import slim, tf
    from tf_slim.nets import inception

    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [1, 299, 299, 3])
        with slim.arg_scope(inception.inception_v3_arg_scope()):
            inception.inception_v3(images, num_classes=IMAGENET_CLASSES, is_training=False)
        # The official checkpoint holds the model's weights only, no global step.
        saver = tf.train.Saver(slim.get_model_variables())
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            return saver.save(session, os.path.join(directory, "inception_v3.ckpt"), write_meta_graph=False)


@pytest.fixture(scope="session")
def imagenet_inception_v3_checkpoint(tmp_path_factory):
    """Path of an Inception V3 checkpoint with the official variable names, 1001 classes."""
    return save_inception_v3_checkpoint(str(tmp_path_factory.mktemp("imagenet")))


def save_mobilenet_v3_small_checkpoint(directory):
    """Saves a MobileNet V3 small with 1001 classes at 224x224 where upstream's v3-small_224_1.0_float.tgz unpacks
    its checkpoint (ema/model-388500, model weights only); returns its path."""
    from nets import nets_factory
    from slim_compat import slim, tf

    with tf.Graph().as_default():
        network_fn = nets_factory.get_network_fn("mobilenet_v3_small", IMAGENET_CLASSES)
        network_fn(tf.placeholder(tf.float32, [1, 224, 224, 3]))
        saver = tf.train.Saver(slim.get_model_variables())
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            folder = os.path.join(directory, "v3-small_224_1.0_float", "ema")
            os.makedirs(folder)
            return saver.save(session, os.path.join(folder, "model-388500"), write_meta_graph=False)
