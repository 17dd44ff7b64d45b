"""Exports a network for inference.

As upstream, `--output_file` gets the GraphDef of the network on a float32
placeholder named `input` (no weights; freeze it with the checkpoint, output node
e.g. `InceptionV3/Predictions/Reshape_1`). Beyond upstream, `--saved_model_dir`
with `--checkpoint_path` writes a SavedModel that grades camera photographs: its
`serving_default` signature takes encoded JPEG/PNG bytes (`image_bytes`), crops
the disc, resizes and Graham-normalises as the conversion did (--prepare_image_size,
--crop_mode, --crop_threshold, --graham: by default those the training run recorded;
0 takes prepared images), applies the eval preprocessing and returns `probabilities`,
`grade` and, when it prepares the photographs, `gradable` (fundus.quality's verdict);
its `metadata` signature tells grade names, sizes, preparation, preprocessing and checkpoint.
`--tflite=FILE` with `--checkpoint_path` writes a TFLite grader for phones and cameras
(serving.tflite_export): a prepared uint8 image in, `probabilities` and `grade` out,
at --tflite_precision float32, float16 or int8 (calibrated on --calibration_images
training images of --dataset_dir), with its metadata in FILE.json.
Model flags default to the training run's recorded settings.

    python export_inference_graph.py --model_name=inception_v3 --dataset_name=diabetic \
        --output_file=inception_v3_inf_graph.pb
    python export_inference_graph.py --checkpoint_path=TRAIN --saved_model_dir=export/1
    python export_inference_graph.py --checkpoint_path=TRAIN --tflite=grader.tflite \
        --tflite_precision=int8 --dataset_dir=DIR/tfrecords
"""
import sys

from absl import app, flags, logging

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from inference import model_flags, split_images
from serving import saved_model_export, tflite_export
from utils import checkpoint_files, flag_checks, interruption, shared_flags

model_flags.define_model_flags()
model_flags.define_preparation_flags(default_image_size=0)
flags.DEFINE_boolean("is_training", False, "Whether to save out a training-focused version of the model.")
flags.DEFINE_integer("image_size", None, "The image size to use; defaults to the network's size.")
flags.DEFINE_integer("batch_size", None, "Batch size of the input placeholder; None accepts any.")
shared_flags.define_dataset_name()
flags.DEFINE_string("output_file", "", "Where to save the resulting GraphDef.")
shared_flags.define_dataset_dir("", " Export reads labelled_images' class count (its labels.txt) and, for "
                                "--tflite_precision=int8, the training images to calibrate on.")
shared_flags.define_refused("quantize")
flags.DEFINE_bool("is_video_model", False, "Whether the model takes video clips: a 5-D input placeholder "
                  "[batch, num_frames, size, size, channels].")
flags.DEFINE_integer("num_frames", None, "Frames per clip of a video model (required with --is_video_model).")
flags.DEFINE_boolean("write_text_graphdef", False, "Write the GraphDef as text instead of binary protobuf.")
flags.DEFINE_bool("use_grayscale", False, "Whether the model takes grayscale images: a 1-channel input "
                  "placeholder.")
shared_flags.define_checkpoint_path(None, "with --saved_model_dir or --tflite, the weights the SavedModel (the "
                                    "TFLite file) holds.")
flags.DEFINE_string("saved_model_dir", None, "Write a SavedModel serving encoded images here (a new directory).")
flags.DEFINE_string("tflite", None, "With --checkpoint_path: write a TFLite grader of prepared images here, its "
                    f"metadata next to it (FILE{tflite_export.SIDECAR_SUFFIX}).")
flags.DEFINE_string("tflite_precision", "float32", f"Precision of --tflite: {', '.join(tflite_export.PRECISIONS)} "
                    "(int8: post-training quantisation calibrated on training images of --dataset_dir; the last layer "
                    "before each output stays float32).")
flags.DEFINE_integer("calibration_images", 200, "With --tflite_precision=int8: how many training images calibrate "
                     "the quantisation (at most; the first of the split).")

FLAGS = flags.FLAGS


def main(_):
    """Writes what the flags ask for; as upstream, bad flags raise ValueError (the command line prints one line).

    Raises:
      ValueError: no --output_file (nor --saved_model_dir, --tflite), --is_video_model without --num_frames,
        --quantize, --saved_model_dir or --tflite without --checkpoint_path, an unknown --tflite_precision,
        int8 without --dataset_dir, an output that cannot be written there, an unknown dataset or network,
        or a network TFLite cannot express.
    """
    if not FLAGS.is_parsed():  # called as a library with no command line: the defaults and any values set
        FLAGS.mark_as_parsed()
    if not FLAGS.output_file and not FLAGS.saved_model_dir and not FLAGS.tflite:
        raise ValueError("You must supply the path to save to with --output_file (or --saved_model_dir, --tflite)")
    if FLAGS.is_video_model and not FLAGS.num_frames:
        raise ValueError("Number of frames must be specified for video models with --num_frames")
    shared_flags.check_refused(FLAGS, "quantize")
    for name in ("saved_model_dir", "tflite"):
        if FLAGS[name].value and not FLAGS.checkpoint_path:
            raise ValueError(f"--{name} needs --checkpoint_path for the weights")
    if FLAGS.tflite:
        check_tflite_flags()
    description = model_flags.read_description(FLAGS.checkpoint_path)
    preparation = model_flags.preparation(description)
    description = model_flags.with_num_classes(description)
    checkpoint = checkpoint_files.resolve(FLAGS.checkpoint_path) if FLAGS.saved_model_dir or FLAGS.tflite else None
    flag_checks.writable_parent(FLAGS, "output_file", "saved_model_dir", "tflite")
    if FLAGS.output_file:
        graph_def = saved_model_export.inference_graph_def(
            description.model_name, description.num_classes, description.image_size, FLAGS.batch_size,
            FLAGS.is_training,
            num_frames=FLAGS.num_frames if FLAGS.is_video_model else None,
            num_channels=1 if FLAGS.use_grayscale else 3)
        saved_model_export.write_graph_def(graph_def, FLAGS.output_file, FLAGS.write_text_graphdef)
    if not checkpoint:
        return
    config = model_flags.model_config(description)
    metadata = saved_model_export.metadata_values(config, checkpoint, checkpoint_files.step_of(checkpoint), preparation,
                                                  description)
    if FLAGS.saved_model_dir:
        saved_model_export.export_saved_model(checkpoint, config, FLAGS.saved_model_dir, preparation, metadata)
    if FLAGS.tflite:
        export_tflite(checkpoint, config, preparation, metadata, description)


def check_tflite_flags():
    """Rejects --tflite_precision and --calibration_images values before any graph is built (one-line ValueError)."""
    if FLAGS.tflite_precision not in tflite_export.PRECISIONS:
        raise ValueError(f"--tflite_precision={FLAGS.tflite_precision}: must be one of "
                         f"{', '.join(tflite_export.PRECISIONS)}")
    flag_checks.positive(FLAGS, "calibration_images")
    if FLAGS.tflite_precision == "int8" and not FLAGS.dataset_dir:
        raise ValueError("--tflite_precision=int8 calibrates on training images: give --dataset_dir, the TFRecords "
                         "folder the model was trained on")


def export_tflite(checkpoint, config, preparation, metadata, description):
    """Converts `checkpoint` (the model of `description`) to FLAGS.tflite at FLAGS.tflite_precision and
    writes it with its sidecar."""
    size = tflite_export.input_size(config, preparation)
    calibration = None
    if FLAGS.tflite_precision == "int8":
        calibration = split_images.read_split(description.dataset_name, "train", FLAGS.dataset_dir, size,
                                              FLAGS.calibration_images).images
        logging.info("Calibrating the int8 quantisation on %d training images of %s", len(calibration),
                     FLAGS.dataset_dir)
    model = tflite_export.convert(checkpoint, config, size, FLAGS.tflite_precision, calibration)
    tflite_export.write(FLAGS.tflite, model, tflite_export.sidecar(
        config, size, FLAGS.tflite_precision, metadata, description))
    logging.info("TFLite grader (%s, %.1f MB) of %s written to %s, its metadata to %s", FLAGS.tflite_precision,
                 len(model) / 1e6, checkpoint, FLAGS.tflite, tflite_export.sidecar_path(FLAGS.tflite))


def main_with_one_line_errors(argv):
    """The command line's main: a ValueError ends the process with its one-line message."""
    try:
        main(argv)
    except ValueError as error:
        sys.exit(f"export_inference_graph.py: {error}")
    except KeyboardInterrupt:
        interruption.stop("nothing was exported")


if __name__ == "__main__":
    app.run(main_with_one_line_errors)
