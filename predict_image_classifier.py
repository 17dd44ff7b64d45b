"""Writes a Kaggle submission (`image,level`, one row per image) from a checkpoint.

Reads the blind `test` split of the TFRecords, or a folder of JPEG/PNG images
(preprocessed exactly as the TFRecords are), e.g.

    python predict_image_classifier.py --checkpoint_path=TRAIN --dataset_name=diabetic \
        --dataset_dir=DIR/tfrecords --submission_file=submission.csv --combine_eyes --tta
"""
import sys

from absl import app, flags

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from datasets import dataset_factory
from evaluation import evaluate, evaluator, image_folder, model_flags, predict, submission

model_flags.define_model_flags()
model_flags.define_batch_flags()
flags.DEFINE_string("submission_file", None, "The CSV to write.")
flags.DEFINE_string("dataset_name", "diabetic", "The name of the dataset the model was trained on.")
flags.DEFINE_string("dataset_split_name", "test", "The split to predict (ignored with --image_dir).")
flags.DEFINE_string("dataset_dir", None, "The directory where the dataset files are stored.")
flags.DEFINE_string("image_dir", None, "Predict the JPEG/PNG files of this folder instead of a TFRecord split.")
flags.DEFINE_boolean("combine_eyes", False, "Mix each eye's probabilities with those of the patient's other eye.")
flags.DEFINE_float("other_eye_weight", submission.DEFAULT_OTHER_EYE_WEIGHT,
                   "With --combine_eyes, the other eye's share of the mixed probabilities.")
flags.mark_flag_as_required("submission_file")

FLAGS = flags.FLAGS


def main(_):
    try:
        run()
    except ValueError as error:
        sys.exit(f"predict_image_classifier.py: {error}")


def run():
    if bool(FLAGS.image_dir) == bool(FLAGS.dataset_dir):
        raise ValueError("give exactly one of --dataset_dir and --image_dir")
    num_classes = evaluator.dataset_num_classes(FLAGS.dataset_name, FLAGS.labels_offset)
    config = model_flags.model_config(num_classes, FLAGS.eval_image_size)
    if FLAGS.image_dir:
        images = image_folder.list_images(FLAGS.image_dir)
        make_batches = image_folder.folder_batches(images, FLAGS.batch_size, FLAGS.num_preprocessing_threads)
        expected_count = len(images)
    else:
        dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
        split_input = evaluate.dataset_input(dataset, num_classes, FLAGS.batch_size,
                                             FLAGS.num_preprocessing_threads, FLAGS.labels_offset)
        make_batches, expected_count = split_input.make_batches, split_input.num_samples
    predictions = predict.predict(FLAGS.checkpoint_path, config, make_batches, expected_count,
                                  FLAGS.submission_file, FLAGS.combine_eyes, FLAGS.other_eye_weight, FLAGS.master)
    if FLAGS.image_dir:
        image_folder.report_unreadable(images, predictions.filenames)


if __name__ == "__main__":
    app.run(main)
