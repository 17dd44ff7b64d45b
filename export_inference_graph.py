"""Exports a network for inference.

As upstream, `--output_file` gets the GraphDef of the network on a float32
placeholder named `input` (no weights; freeze it with the checkpoint, output node
e.g. `InceptionV3/Predictions/Reshape_1`). Beyond upstream, `--saved_model_dir`
with `--checkpoint_path` writes a servable SavedModel whose `serving_default`
signature takes encoded JPEG/PNG bytes (`image_bytes`), applies the eval
preprocessing and returns `probabilities` and `grade`.

    python export_inference_graph.py --model_name=inception_v3 --dataset_name=diabetic \
        --output_file=inception_v3_inf_graph.pb \
        --checkpoint_path=TRAIN --saved_model_dir=export/1
"""
import sys

from absl import app, flags

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from evaluation import checkpoints, export, model_flags

model_flags.define_model_flags()
flags.DEFINE_boolean("is_training", False, "Whether to save out a training-focused version of the model.")
flags.DEFINE_integer("image_size", None, "The image size to use; defaults to the network's size.")
flags.DEFINE_integer("batch_size", None, "Batch size of the input placeholder; None accepts any.")
flags.DEFINE_string("dataset_name", "imagenet", "The name of the dataset (gives the number of classes).")
flags.DEFINE_string("output_file", "", "Where to save the resulting GraphDef.")
flags.DEFINE_string("dataset_dir", "", "Directory of the dataset's TFRecords; only labelled_images reads it "
                    "(the class count is in its labels.txt).")
flags.DEFINE_boolean("write_text_graphdef", False, "Write the GraphDef as text instead of binary protobuf.")
flags.DEFINE_string("checkpoint_path", None, "With --saved_model_dir: a checkpoint file, or the directory of "
                    "the latest one, whose weights the SavedModel holds.")
flags.DEFINE_string("saved_model_dir", None, "Write a SavedModel serving encoded images here (a new directory).")

FLAGS = flags.FLAGS


def main(_):
    try:
        run()
    except ValueError as error:
        sys.exit(f"export_inference_graph.py: {error}")


def run():
    if not FLAGS.output_file and not FLAGS.saved_model_dir:
        raise ValueError("You must supply the path to save to with --output_file (or --saved_model_dir)")
    if FLAGS.saved_model_dir and not FLAGS.checkpoint_path:
        raise ValueError("--saved_model_dir needs --checkpoint_path for the weights")
    settings = model_flags.apply_run_settings(FLAGS.checkpoint_path)
    num_classes = model_flags.num_classes(settings)
    if FLAGS.output_file:
        graph_def = export.inference_graph_def(FLAGS.model_name, num_classes, FLAGS.image_size, FLAGS.batch_size,
                                               FLAGS.is_training)
        export.write_graph_def(graph_def, FLAGS.output_file, FLAGS.write_text_graphdef)
    if FLAGS.saved_model_dir:
        config = model_flags.model_config(num_classes, FLAGS.image_size, settings)
        export.export_saved_model(checkpoints.resolve_checkpoint(FLAGS.checkpoint_path), config,
                                  FLAGS.saved_model_dir)


if __name__ == "__main__":
    app.run(main)
