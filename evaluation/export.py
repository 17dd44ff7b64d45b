"""Exports: upstream's inference GraphDef and a servable SavedModel that takes encoded images.

Upstream only wrote a GraphDef (a float `input` placeholder, no weights, no
preprocessing). The SavedModel's `serving_default` signature takes a batch of
encoded JPEG/PNG bytes, decodes and preprocesses them exactly as evaluation does,
and returns the class probabilities and the predicted grade (cut at the model's fitted
thresholds when it has some), weights included.
"""
import os

from evaluation import evaluator
from nets import nets_factory
from slim_compat import tf
from utils import atomic_files

INPUT_NAME = "input"
SERVING_INPUT = "image_bytes"
SERVING_OUTPUTS = ("probabilities", "grade")


def inference_graph_def(model_name, num_classes, image_size=None, batch_size=None, is_training=False,
                        num_frames=None, num_channels=3):
    """Returns the GraphDef of `model_name` on a float32 placeholder named `input`.

    The placeholder is [batch_size, size, size, num_channels], or with `num_frames` (video models)
    [batch_size, num_frames, size, size, num_channels]; size defaults to the network's.
    """
    if not num_frames:
        nets_factory.check_image_network(model_name)
    with tf.Graph().as_default() as graph:
        network_fn = nets_factory.get_network_fn(model_name, num_classes=num_classes, is_training=is_training)
        size = image_size or network_fn.default_image_size
        frames = [num_frames] if num_frames else []
        network_fn(tf.placeholder(tf.float32, [batch_size, *frames, size, size, num_channels], name=INPUT_NAME))
    return graph.as_graph_def()


def write_graph_def(graph_def, path, as_text=False):
    """Writes a GraphDef as binary protobuf (or text with `as_text`), atomically."""
    with atomic_files.open_atomically(path, "w" if as_text else "wb") as handle:
        handle.write(str(graph_def) if as_text else graph_def.SerializeToString())


def build_serving_graph(config):
    """Builds, in the current graph, encoded images -> probabilities and grades.

    Returns:
      (inputs, outputs): dicts of tensors keyed by SERVING_INPUT and SERVING_OUTPUTS.
    """
    encoded = tf.placeholder(tf.string, [None], name=SERVING_INPUT)
    preprocessing_fn = config.preprocessing_fn()
    size = config.input_size()

    def decode_and_preprocess(image_bytes):
        image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
        return preprocessing_fn(image, size, size, add_image_summaries=False)

    images = tf.map_fn(decode_and_preprocess, encoded, fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))
    outputs = evaluator.build_outputs(config, images)
    return {SERVING_INPUT: encoded}, {"probabilities": tf.identity(outputs["probabilities"], "probabilities"),
                                      "grade": tf.identity(outputs["grades"], "grade")}


def export_saved_model(checkpoint, config, export_dir):
    """Writes a SavedModel of `checkpoint` with a `serving_default` signature on encoded images.

    The model is built in a sibling temporary folder and renamed to `export_dir` when complete.

    Raises:
      ValueError: `export_dir` already exists.
    """
    if os.path.exists(export_dir):
        raise ValueError(f"{export_dir}: already exists; choose a new SavedModel directory")
    with tf.Graph().as_default():
        inputs, outputs = build_serving_graph(config)
        saver = tf.train.Saver(evaluator.variables_to_restore(config.moving_average_decay))
        with tf.Session() as session:
            saver.restore(session, checkpoint)
            with atomic_files.atomic_path(export_dir) as temporary:
                builder = tf.saved_model.builder.SavedModelBuilder(temporary)
                signature = tf.saved_model.signature_def_utils.predict_signature_def(inputs, outputs)
                builder.add_meta_graph_and_variables(
                    session, [tf.saved_model.tag_constants.SERVING],
                    signature_def_map={tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature})
                builder.save()
