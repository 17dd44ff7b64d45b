"""Writes a Kaggle submission (`image,level`, one row per image) from a checkpoint.

Reads the blind `test` split of the TFRecords, or a folder of JPEG/PNG images
(preprocessed exactly as the TFRecords are), e.g.

    python predict_image_classifier.py --checkpoint_path=TRAIN --dataset_name=diabetic \
        --dataset_dir=DIR/tfrecords --submission_file=submission.csv --combine_eyes --tta
"""
import sys

from absl import app, flags

from datasets import dataset_factory
from evaluation import evaluate, evaluator, image_folder, predict, submission

flags.DEFINE_string("checkpoint_path", "/tmp/tfmodel/", "A checkpoint file, or the directory of the latest one.")
flags.DEFINE_string("submission_file", None, "The CSV to write.")
flags.DEFINE_string("dataset_name", "diabetic", "The name of the dataset the model was trained on.")
flags.DEFINE_string("dataset_split_name", "test", "The split to predict (ignored with --image_dir).")
flags.DEFINE_string("dataset_dir", None, "The directory where the dataset files are stored.")
flags.DEFINE_string("image_dir", None, "Predict the JPEG/PNG files of this folder instead of a TFRecord split.")
flags.DEFINE_integer("batch_size", 100, "The number of images in each batch.")
flags.DEFINE_integer("num_preprocessing_threads", 4, "The number of images decoded and preprocessed in parallel.")
flags.DEFINE_integer("labels_offset", 0, "An offset for the labels the model was trained with.")
flags.DEFINE_string("model_name", "inception_v3", "The name of the architecture.")
flags.DEFINE_string("preprocessing_name", None, "The name of the preprocessing to use; defaults to model_name.")
flags.DEFINE_integer("eval_image_size", None, "Image size; defaults to the network's size.")
flags.DEFINE_float("moving_average_decay", None, "If given, restore the moving averages of the weights.")
flags.DEFINE_boolean("tta", False, "Average probabilities over the 8 flips and quarter turns of each image.")
flags.DEFINE_boolean("combine_eyes", False, "Mix each eye's probabilities with those of the patient's other eye.")
flags.DEFINE_float("other_eye_weight", submission.DEFAULT_OTHER_EYE_WEIGHT,
                   "With --combine_eyes, the other eye's share of the mixed probabilities.")
flags.DEFINE_string("master", "", "The address of the TensorFlow master to use.")
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
    config = evaluator.ModelConfig(
        model_name=FLAGS.model_name, num_classes=num_classes, preprocessing_name=FLAGS.preprocessing_name,
        image_size=FLAGS.eval_image_size, moving_average_decay=FLAGS.moving_average_decay, tta=FLAGS.tta)
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
