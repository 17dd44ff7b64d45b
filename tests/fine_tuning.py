"""In-process runs of train_image_classifier.py, and the fine-tuning check every network family shares:
two training steps on diabetic TFRecords from a checkpoint with upstream's ImageNet variable layout."""
import collections
import os

import numpy as np
from absl import flags

import train_image_classifier
from nets import nets_factory
from slim_compat import slim, tf

IMAGENET_CLASSES = 1001
MOVING_STATISTICS = ("moving_mean", "moving_variance")


def train_in_process(argv):
    """Runs the script's main with `argv` in this process (TensorFlow is imported once)."""
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train_image_classifier.py", *argv])
    train_image_classifier.main(None)


ImagenetLayout = collections.namedtuple("ImagenetLayout", "checkpoint end_points variable_shapes")


def save_imagenet_layout_checkpoint(model_name, directory, num_classes=IMAGENET_CLASSES):
    """Saves `model_name`'s model variables, randomly initialised, as upstream's published checkpoint of it
    holds them: `num_classes` logits, built at the default image size, no global step.

    Returns:
      ImagenetLayout: the checkpoint's path, {end point: (shape, op name)} of the network built
      with batch 1, and {variable name: shape}.
    """
    network_fn = nets_factory.get_network_fn(model_name, num_classes)
    size = network_fn.default_image_size
    with tf.Graph().as_default():
        _, end_points = network_fn(tf.placeholder(tf.float32, [1, size, size, 3]))
        variables = slim.get_model_variables()
        saver = tf.train.Saver(variables)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            checkpoint = saver.save(session, os.path.join(directory, f"{model_name}.ckpt"), write_meta_graph=False)
    return ImagenetLayout(checkpoint, {name: (tensor.shape.as_list(), tensor.op.name)
                                       for name, tensor in end_points.items()},
                          {variable.op.name: variable.shape.as_list() for variable in variables})


def check_fine_tuning(model_name, checkpoint, logits_scopes, image_size, train_dir, dataset_dir,
                      freeze_batch_norm=False):
    """Fine-tunes `model_name` for two steps on diabetic from ImageNet-layout `checkpoint`; checks the result.

    As the book fine-tunes Inception V3: `logits_scopes` are neither restored nor frozen, everything
    else restores and stays fixed. Asserts that the weights outside `logits_scopes` are unchanged
    (and the batch-norm moving statistics too with `freeze_batch_norm`, while they move without it),
    and that the logits now have the 5 diabetic grades and trained: their biases, which start at
    zero, moved.
    """
    scopes = ",".join(logits_scopes)
    train_in_process([f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
                      f"--dataset_dir={dataset_dir}", f"--model_name={model_name}", f"--checkpoint_path={checkpoint}",
                      f"--checkpoint_exclude_scopes={scopes}", f"--trainable_scopes={scopes}",
                      "--optimizer=sgd", "--learning_rate=0.01", "--batch_size=2", f"--train_image_size={image_size}",
                      "--max_number_of_steps=2", "--save_summaries_secs=0", "--save_interval_secs=0",
                      f"--freeze_batch_norm={freeze_batch_norm}"])
    imagenet = tf.train.load_checkpoint(checkpoint)
    trained = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-2"))
    outside_logits = [name for name in imagenet.get_variable_to_shape_map()
                      if not name.startswith(tuple(logits_scopes))]
    moving = [name for name in outside_logits if name.endswith(MOVING_STATISTICS)]
    frozen = outside_logits if freeze_batch_norm else [name for name in outside_logits if name not in moving]
    assert frozen, f"{model_name}: no restored variables outside {scopes}"
    for name in frozen:
        np.testing.assert_array_equal(trained.get_tensor(name), imagenet.get_tensor(name), err_msg=name)
    if moving and not freeze_batch_norm:
        assert any(not np.array_equal(trained.get_tensor(name), imagenet.get_tensor(name)) for name in moving)
    logits_biases = [name for name, shape in trained.get_variable_to_shape_map().items()
                     if name.startswith(tuple(logits_scopes)) and name.endswith("biases") and shape == [5]]
    assert logits_biases, f"{model_name}: no 5-class logits under {scopes}"
    for name in logits_biases:
        assert np.any(trained.get_tensor(name) != 0), name
