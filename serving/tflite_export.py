"""TFLite graders for phones and cameras: a checkpoint converted to a .tflite file with a JSON sidecar.

The SavedModel decodes and crops photographs in its graph (control flow, JPEG ops) that
TFLite's built-in ops cannot run. The TFLite model starts after the preparation: it takes
one prepared image, uint8 RGB [1, size, size, 3] at the conversion's size (the model's size
when the run recorded none), applies the trained model's eval preprocessing and returns
`probabilities` [1, classes], `grade` [1] (cut at the fitted thresholds when the model has
some, as inference.model_runner grades) and, for a model with a regression head, its raw output
`regression` [1]. The preparation (fundus_preparation.prepare_fundus, then graham_normalise when the
run's conversion used it) runs before it on the device; the sidecar says how.

Precisions: float32; float16 (weights stored in float16, computed in float32); int8
(post-training quantisation calibrated on training images: uint8 input, int8 weights and
activations up to the last layer before each output, float outputs). The last layers (the
logits layer and softmax, a regression head) stay float32: a confident photo's logits reach
about +-100, so an int8 logits tensor has steps of ~0.8 and ties grades that float tells
apart (on the demo's 60 validation images: 56 grades equal to the SavedModel's with int8
logits, 59 with them in float).
"""
import json

import slim_compat
from inference import model_runner
from slim_compat import tf
from tensorflow.lite.python import convert as lite_convert
from tensorflow.lite.tools import flatbuffer_utils
from tensorflow.python.util import deprecation
from utils import atomic_files, run_settings

PRECISIONS = ("float32", "float16", "int8")
INPUT_NAME = "image"
REGRESSION_OUTPUT = "regression"
SIDECAR_SUFFIX = ".json"
# TFLite ops holding a layer's weights: walking back from an output, the first one ends the float head.
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
# Lines the converter writes to stderr at every conversion: grappler's note on the session's initialisers
# (the variables are frozen into constants), the quantiser's summary of its settings, the converter's name.
CONVERTER_CHATTER = ("grappler_item_builder.cc", "fully_quantize:", "Using experimental converter")


def sidecar_path(tflite_path):
    """Returns where the metadata of `tflite_path` is written: the same path plus SIDECAR_SUFFIX."""
    return tflite_path + SIDECAR_SUFFIX


def input_size(config, preparation=None):
    """The side of the model's input: the preparation's size, else the network's input size."""
    return preparation.image_size if preparation else config.input_size()


def build_graph(config, size):
    """Builds, in the current graph, one prepared uint8 image -> the grader's outputs.

    Returns:
      (the uint8 [1, size, size, 3] placeholder, {name: output tensor}): `probabilities`, `grade`
      and, with a regression head, `regression`.
    """
    image = tf.placeholder(tf.uint8, [1, size, size, 3], name=INPUT_NAME)
    preprocessed = config.preprocessing_fn()(image[0], config.input_size(), config.input_size(),
                                             add_image_summaries=False)
    outputs = model_runner.build_outputs(config, tf.expand_dims(preprocessed, 0))
    served = {"probabilities": tf.identity(outputs["probabilities"], "probabilities"),
              "grade": tf.identity(outputs["grades"], "grade")}
    if config.regression:
        served[REGRESSION_OUTPUT] = tf.identity(outputs["regression"], REGRESSION_OUTPUT)
    return image, served


def head_tensors(model):
    """Returns the names of the output tensors of the ops from the last weight layer before each output on.

    Args:
      model: .tflite bytes.
    """
    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    subgraph = graph.subgraphs[0]
    producers = {output: operator for operator in subgraph.operators for output in operator.outputs}
    head, pending = {}, list(subgraph.outputs)
    while pending:
        operator = producers.get(pending.pop())
        if operator is None or id(operator) in head:
            continue
        head[id(operator)] = operator
        if flatbuffer_utils.opcode_to_name(graph, operator.opcodeIndex) not in WEIGHT_OPS:
            pending.extend(index for index in operator.inputs if index >= 0)
    return sorted(subgraph.tensors[index].name.decode() for operator in head.values() for index in operator.outputs)


def _int8(converter, calibration_images):
    """Calibrates on `calibration_images` (uint8 NHWC), then quantises all but the head (head_tensors) to int8."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[None]] for image in calibration_images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter._experimental_calibrate_only = True  # pylint: disable=protected-access  (TensorFlow is pinned)
    calibrated = converter.convert()
    return lite_convert.mlir_quantize(calibrated, input_data_type=tf.uint8, output_data_type=tf.float32,
                                      denylisted_nodes=head_tensors(calibrated))


def _convert_session(session, image, outputs, precision, calibration_images):
    """Freezes the session's graph from `image` to `outputs` and returns its .tflite bytes."""
    converter = tf.lite.TFLiteConverter.from_session(session, [image], list(outputs.values()))
    if precision == "int8":
        return _int8(converter, calibration_images)
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def _quiet_conversion(convert):
    """Runs `convert()` without the converter's routine chatter and deprecation notices (unless logs are wanted)."""
    if slim_compat.tensorflow_logs_wanted():
        return convert()
    with slim_compat.stderr_without(CONVERTER_CHATTER), deprecation.silence():
        return convert()


def convert(checkpoint, config, size, precision, calibration_images=None):
    """Returns the .tflite bytes of `checkpoint` at `precision` (see the module docstring).

    Args:
      checkpoint: the checkpoint prefix whose weights the model holds.
      config: a model_runner.ModelConfig.
      size: the side of the prepared input image (input_size).
      precision: one of PRECISIONS.
      calibration_images: uint8 [count, size, size, 3] training images; int8 only.

    Raises:
      ValueError: an unknown precision, int8 without calibration images, a checkpoint that does not
        fit the network, or a network the converter cannot express in TFLite's built-in ops.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"--tflite_precision={precision}: must be one of {', '.join(PRECISIONS)}")
    if precision == "int8" and (calibration_images is None or not len(calibration_images)):
        raise ValueError("--tflite_precision=int8 needs training images to calibrate on")
    with tf.Graph().as_default():
        image, outputs = build_graph(config, size)
        names_to_variables = model_runner.variables_to_restore(config.moving_average_decay)
        model_runner.check_restorable(checkpoint, names_to_variables, config)
        with tf.Session() as session:
            tf.train.Saver(names_to_variables).restore(session, checkpoint)
            try:
                return _quiet_conversion(lambda: _convert_session(session, image, outputs, precision,
                                                                  calibration_images))
            except Exception as error:  # the converter raises ConverterError and others, many lines each
                first_line = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
                raise ValueError(f"{config.model_name} cannot be converted to TFLite at {precision} "
                                 f"({type(error).__name__}: {first_line})") from error


def sidecar(config, size, precision, metadata, description=None):
    """Returns the sidecar's content: what the model takes and returns, and what it is.

    Args:
      config: a model_runner.ModelConfig.
      size: the input's side.
      precision: the file's precision.
      metadata: saved_model_export.metadata_values of the model (grade names, sizes, the preparation the device
        applies first, ending with fundus_preparation.graham_normalise when `graham` says so, preprocessing,
        checkpoint).
      description: the model's utils.model_description.ModelDescription; its fitted grading is repeated.
    """
    settings = description.to_json() if description else {}
    outputs = {"probabilities": ["float32", [1, config.num_classes]], "grade": ["int64", [1]]}
    if config.regression:
        outputs[REGRESSION_OUTPUT] = ["float32", [1]]
    return {
        **metadata,
        "run_settings": settings,
        "precision": precision,
        "input": {"name": INPUT_NAME, "dtype": "uint8", "shape": [1, size, size, 3]},
        "outputs": {name: {"dtype": dtype, "shape": shape} for name, (dtype, shape) in outputs.items()},
        "grading": settings.get(run_settings.GRADING),
        "grade_thresholds": list(config.grade_cuts()) if config.grade_cuts() is not None else None,
    }


def write(path, model, sidecar_values):
    """Writes the .tflite bytes to `path` and its sidecar JSON next to it, atomically as a pair.

    Both are written under temporary names and renamed when both are complete; when either
    fails, neither is renamed and a file already at either name is left as it was.
    """
    with atomic_files.atomic_path(sidecar_path(path)) as sidecar_temporary, \
            atomic_files.atomic_path(path) as model_temporary:
        with open(model_temporary, "wb") as handle:
            handle.write(model)
        with open(sidecar_temporary, "w", encoding="utf-8") as handle:
            json.dump(sidecar_values, handle, indent=2, sort_keys=True)
            handle.write("\n")


def read_sidecar(tflite_path):
    """Returns the sidecar of `tflite_path` as a dict.

    Raises:
      ValueError: the sidecar is missing or not JSON, naming it.
    """
    path = sidecar_path(tflite_path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the model's sidecar ({error.__class__.__name__}); export the "
                         "model again with export_inference_graph.py --tflite") from error

