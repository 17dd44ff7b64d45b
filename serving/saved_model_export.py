"""Exports: upstream's inference GraphDef and a servable SavedModel that grades camera photographs.

Upstream only wrote a GraphDef (a float `input` placeholder, no weights, no
preprocessing). The SavedModel is the whole grader: its `serving_default`
signature takes a batch of encoded JPEG/PNG files, prepares each as the
conversion does (fundus.graph_preparation: disc or black-border crop, resize
and, for a model trained on Graham-normalised images, Graham's normalisation)
unless told the images are prepared, preprocesses them exactly as evaluation
does, and returns the class probabilities and the predicted grade (cut at the
model's fitted thresholds when it has some), weights included. Its `metadata`
signature, without inputs, returns what the model is (grade names, sizes,
preprocessing, source checkpoint's name in its train dir and step). Variables are
resource variables, so TensorFlow 2 loads it without warnings.
"""
import contextlib
import json
import os

from absl import logging

from fundus import graph_preparation
from inference import model_runner
from nets import nets_factory
from slim_compat import tf
from utils import atomic_files

INPUT_NAME = "input"
SERVING_INPUT = "image_bytes"
SERVING_OUTPUTS = ("probabilities", "grade")
# With a preparation the SavedModel also says whether each photograph can be graded (fundus.quality).
GRADABLE_OUTPUT = "gradable"


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


def build_serving_graph(config, preparation=None):
    """Builds, in the current graph, encoded images -> probabilities and grades.

    Args:
      config: a model_runner.ModelConfig.
      preparation: a utils.model_description.Conversion to apply to each photograph first (its image
        size, crop threshold, crop mode and Graham's normalisation); None takes prepared images.

    Returns:
      (inputs, outputs): dicts of tensors keyed by SERVING_INPUT and SERVING_OUTPUTS (and GRADABLE_OUTPUT
      with a preparation).
    """
    encoded = tf.placeholder(tf.string, [None], name=SERVING_INPUT)
    preprocessing_fn = config.preprocessing_fn()
    size = config.input_size()

    def decode_and_preprocess(image_bytes):
        if not preparation:
            image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
            return preprocessing_fn(image, size, size, add_image_summaries=False), tf.constant(True)
        image, quality = graph_preparation.prepared_photo(image_bytes, preparation.image_size,
                                                          preparation.crop_threshold, preparation.crop_mode,
                                                          bool(preparation.graham))
        return preprocessing_fn(image, size, size, add_image_summaries=False), quality["gradable"]

    images, gradable = tf.map_fn(decode_and_preprocess, encoded, fn_output_signature=(
        tf.TensorSpec([size, size, 3], tf.float32), tf.TensorSpec([], tf.bool)))
    outputs = model_runner.build_outputs(config, images)
    served = {"probabilities": tf.identity(outputs["probabilities"], "probabilities"),
              "grade": tf.identity(outputs["grades"], "grade")}
    if preparation:
        served[GRADABLE_OUTPUT] = tf.identity(gradable, GRADABLE_OUTPUT)
    return {SERVING_INPUT: encoded}, served


def metadata_values(config, checkpoint, global_step, preparation=None, description=None):
    """Returns {name: value} of what the SavedModel's `metadata` signature answers.

    Args:
      config: a model_runner.ModelConfig.
      checkpoint: the checkpoint's path; only its name in its train dir (`model.ckpt-300`) is recorded.
      global_step: the checkpoint's training step.
      preparation: see build_serving_graph.
      description: the model's utils.model_description.ModelDescription (its JSON form is answered as
        `run_settings`), or None.
    """
    settings = description.to_json() if description else {}
    return {
        "grade_names": (list(description.class_names) if description and description.class_names
                        else [str(grade) for grade in range(config.num_classes)]),
        "model_name": config.model_name,
        "preprocessing_name": config.preprocessing_name or config.model_name,
        "image_size": config.input_size(),
        "prepare_image_size": preparation.image_size if preparation else 0,
        "crop_threshold": preparation.crop_threshold if preparation else -1,
        "crop_mode": preparation.crop_mode if preparation else "",
        "graham": bool(preparation and preparation.graham),
        "checkpoint": os.path.basename(checkpoint),
        "global_step": global_step,
        "run_settings": json.dumps(settings, sort_keys=True),
    }


def _tensor_info(tensor):
    """The signature entry of `tensor` (what the deprecated build_tensor_info gives for a dense tensor)."""
    return tf.TensorInfo(name=tensor.name, dtype=tensor.dtype.as_datatype_enum, tensor_shape=tensor.shape.as_proto())


def _predict_signature(inputs, outputs):
    """A Predict signature of {name: tensor} inputs and outputs."""
    return tf.saved_model.signature_def_utils.build_signature_def(
        inputs={name: _tensor_info(tensor) for name, tensor in inputs.items()},
        outputs={name: _tensor_info(tensor) for name, tensor in outputs.items()},
        method_name=tf.saved_model.signature_constants.PREDICT_METHOD_NAME)


def _metadata_signature(values):
    return _predict_signature({}, {name: tf.constant(value, name=f"metadata/{name}") for name, value in values.items()})


@contextlib.contextmanager
def _builder_info_hidden():
    """Hides the SavedModel builder's info lines in the block: they name the temporary folder."""
    def shown(record):
        return not (record.module == "builder_impl" and record.levelname == "INFO")

    logger = tf.get_logger()
    logger.addFilter(shown)
    try:
        yield
    finally:
        logger.removeFilter(shown)


def export_saved_model(checkpoint, config, export_dir, preparation=None, metadata=None):
    """Writes a SavedModel of `checkpoint` with a `serving_default` signature on encoded images.

    The model is built in a sibling temporary folder and renamed to `export_dir` when complete;
    the log names `export_dir` only.

    Args:
      checkpoint: the checkpoint prefix whose weights the model holds.
      config: a model_runner.ModelConfig.
      export_dir: the new SavedModel folder.
      preparation: see build_serving_graph.
      metadata: {name: value} for the `metadata` signature (see metadata_values); None writes none.

    Raises:
      ValueError: `export_dir` already exists.
    """
    if os.path.exists(export_dir):
        raise ValueError(f"{export_dir}: already exists; choose a new SavedModel directory")
    with tf.Graph().as_default(), tf.variable_scope(tf.get_variable_scope(), use_resource=True):
        inputs, outputs = build_serving_graph(config, preparation)
        saver = tf.train.Saver(model_runner.variables_to_restore(config.moving_average_decay))
        signatures = {tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
                      _predict_signature(inputs, outputs)}
        if metadata:
            signatures["metadata"] = _metadata_signature(metadata)
        with tf.Session() as session:
            saver.restore(session, checkpoint)
            with atomic_files.atomic_path(export_dir) as temporary, _builder_info_hidden():
                builder = tf.saved_model.builder.SavedModelBuilder(temporary)
                builder.add_meta_graph_and_variables(session, [tf.saved_model.tag_constants.SERVING],
                                                     signature_def_map=signatures)
                builder.save()
    logging.info("SavedModel of %s written to %s", checkpoint, export_dir)
