"""Writes a Kaggle submission (`image,level`, one row per image) from a checkpoint.

Reads the blind `test` split of the TFRecords, or a folder of photographs
(prepared like the TFRecords: disc cropped, resized; then preprocessed as at
evaluation), e.g.

    python predict_image_classifier.py --checkpoint_path=TRAIN --dataset_name=diabetic \
        --dataset_dir=DIR/tfrecords --submission_file=submission.csv --combine_eyes --tta
"""
import sys
import tempfile

from absl import app, flags

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from datasets import dataset_factory
from evaluation import evaluate, predict
from fundus import preparation as fundus_preparation
from grading import eye_fusion
from inference import image_folder, model_flags
from utils import interruption, shared_flags

model_flags.define_model_flags()
model_flags.define_batch_flags()
model_flags.define_preparation_flags(fundus_preparation.DEFAULT_IMAGE_SIZE)
flags.DEFINE_string("submission_file", None, "The CSV to write.")
shared_flags.define_dataset_name("diabetic")  # not upstream's imagenet: utils/shared_flags.py says why
shared_flags.define_dataset_split_name("test")
shared_flags.define_dataset_dir()
flags.DEFINE_string("image_dir", None, "Predict the JPEG/PNG files of this folder instead of a TFRecord split "
                    "(--dataset_dir, if also given, then only tells the number of classes).")
flags.DEFINE_boolean("combine_eyes", False, "Grade each eye from both of the patient's eyes: with the two-eye "
                     "fusion fitted by eval --fit_grading when the model has one, else by mixing the "
                     "probabilities (--other_eye_weight).")
flags.DEFINE_float("other_eye_weight", eye_fusion.DEFAULT_OTHER_EYE_WEIGHT,
                   "With --combine_eyes and no fitted fusion, the other eye's share of the mixed probabilities.")
flags.DEFINE_string("heatmap_dir", None, "Write, per image, the photo with a Grad-CAM map of its predicted grade "
                    "over it into this folder (IMAGE_ID_gradeG.png).")
flags.mark_flag_as_required("submission_file")

FLAGS = flags.FLAGS


def main(_):
    try:
        run()
    except ValueError as error:
        sys.exit(f"predict_image_classifier.py: {error}")
    except KeyboardInterrupt:
        interruption.stop("no submission was written")


def run():
    model_flags.check_flags()
    if not (FLAGS.image_dir or FLAGS.dataset_dir):
        raise ValueError("give --dataset_dir (predict a TFRecord split) or --image_dir (predict a folder)")
    description = model_flags.read_description(FLAGS.checkpoint_path)
    model_flags.check_image_size(description)
    model_flags.check_dr_grades_flag("combine_eyes", description)
    model_flags.check_outputs()
    description = model_flags.with_num_classes(description)
    config = model_flags.model_config(description)
    fitted_fusion = description.grading.eye_fusion
    if FLAGS.image_dir:
        with tempfile.TemporaryDirectory() as work_dir:
            predict_folder(config, work_dir, fitted_fusion, model_flags.preparation(description))
        return
    dataset = dataset_factory.get_dataset(description.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    split_input = evaluate.dataset_input(dataset, description.num_classes, FLAGS.batch_size,
                                         FLAGS.num_preprocessing_threads, description.labels_offset)
    predictions = predict_and_write(config, split_input.make_batches, split_input.num_samples, fitted_fusion,
                                    split_input.shards)
    image_folder.write_ungradable_list(FLAGS.submission_file, image_folder.conversion_qualities(FLAGS.dataset_dir),
                                       predictions.filenames)


def predict_folder(config, work_dir, fitted_fusion, preparation):
    """Predicts --image_dir, preparing its photographs into `work_dir` first as `preparation` (a
    model_description.Conversion) says, unless it is None."""
    photos = image_folder.list_images(FLAGS.image_dir)
    images, skipped, qualities = photos, {}, {}
    if preparation:
        images, skipped, qualities = image_folder.prepare_photos(photos, work_dir, preparation.image_size,
                                                                 preparation.crop_threshold, preparation.graham,
                                                                 preparation.crop_mode)
        if not images:
            raise ValueError(f"{FLAGS.image_dir}: none of the {len(photos)} images could be prepared")
    make_batches = image_folder.folder_batches(images, FLAGS.batch_size, FLAGS.num_preprocessing_threads)
    predictions = predict_and_write(config, make_batches, len(images), fitted_fusion)
    image_folder.write_ungradable_list(FLAGS.submission_file, qualities, predictions.filenames)
    unreadable = image_folder.report_unreadable({image_id: photos[image_id] for image_id in images},
                                                predictions.filenames)
    skipped.update(dict.fromkeys(unreadable, image_folder.UNREADABLE))
    image_folder.write_skipped_report(FLAGS.submission_file, skipped, len(photos))


def predict_and_write(config, make_batches, expected_count, fitted_fusion, shards=()):
    """Runs the checkpoint over `make_batches` (reading `shards`) and writes --submission_file; returns the
    predictions."""
    return predict.predict(FLAGS.checkpoint_path, config, make_batches, expected_count, FLAGS.submission_file,
                           FLAGS.combine_eyes, FLAGS.other_eye_weight, FLAGS.master,
                           eye_fusion=fitted_fusion if FLAGS.combine_eyes else None, heatmap_dir=FLAGS.heatmap_dir,
                           shards=shards)


if __name__ == "__main__":
    app.run(main)
