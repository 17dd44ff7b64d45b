"""Evaluates a checkpoint (or follows a training run) on one labelled split.

Prints `eval/NAME[VALUE]` lines (Accuracy, QuadraticWeightedKappa, Recall_g per grade g,
Mean_Recall, Precision_g per grade g, Referable_Sensitivity, Referable_Specificity,
Referable_AUC, the screening operating points Referable_Sensitivity_at_Specificity90/95
and Referable_Specificity_at_Sensitivity90/975, Expected_Calibration_Error) and the
confusion matrix, and writes them as summaries (and the matrix and the referable ROC as
PNGs) to --eval_dir. Upstream's `Recall_5` (top-5 recall) is reported with more than five
classes (the per-class names are then `Recall_class_g`, `Precision_class_g`); with five
grades it would always be 1.0 and is left out. The figures of exact grades describe the
grades the model gives, as predict and the SavedModel do: its fitted thresholds when it has
some (--fit_grading, on the validation split), else its regression head's output rounded,
else the softmax's argmax. QuadraticWeightedKappa_X and Mean_Recall_X report the other ways
to grade next to them: _Softmax (argmax), _Regression (rounded), _Thresholds, _EyeFusion;
with --fit_grading also _Thresholds_CrossFitted and _EyeFusion_CrossFitted, each half of the
patients graded by a fit on the other half: the honest figure of a grading fitted on the
split it is measured on.

--report_dir=DIR writes a screening-trial report of the evaluation (reporting.trial_report):
DIR/report.html, one self-contained page, and DIR/report.json, the same figures for scripts:
referable DR per eye and per patient with 95 % intervals at the operating points fixed on the
development split (recorded by --fit_grading), imageability, calibration and a few heatmaps.

Only `diabetic` has DR grades: any other dataset (flowers, cifar10, mnist, imagenet, ...)
gets the metrics valid for any classifier (Accuracy, Recall_5, per-class Recall and
Precision, Mean_Recall, Expected_Calibration_Error, the confusion matrix), none of the
QWK and Referable ones, and --fit_grading and --report_dir are refused there.

    python eval_image_classifier.py --alsologtostderr --checkpoint_path=TRAIN/model.ckpt-N \
        --dataset_name=diabetic --dataset_split_name=validation --dataset_dir=DIR/tfrecords \
        --model_name=inception_v3
"""
import sys

from absl import app, flags

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from datasets import dataset_factory
from evaluation import evaluate
from inference import model_flags
from reporting import imageability, trial_report
from utils import interruption, shared_flags, writer_lock

model_flags.define_model_flags()
model_flags.define_batch_flags()
flags.DEFINE_integer("max_num_batches", None, "Max number of batches to evaluate; by default one exact pass.")
flags.DEFINE_string("eval_dir", "/tmp/tfmodel/", "Directory where the results are saved to.")
shared_flags.define_dataset_name()
shared_flags.define_dataset_split_name("test")
shared_flags.define_dataset_dir()
flags.DEFINE_string("predictions_file", None, "CSV to write image,label,prediction,prob_0..prob_4 to, "
                    "one row per image of the split (rewritten for each checkpoint).")
flags.DEFINE_integer("eval_interval_secs", None, "Follow a training run: evaluate each new checkpoint in "
                     "--checkpoint_path's directory, at most this often. None evaluates once.")
flags.DEFINE_integer("max_evals", None, "With --eval_interval_secs, stop after this many evaluations.")
flags.DEFINE_float("timeout", None, "With --eval_interval_secs, stop after this many seconds without a new "
                   "checkpoint (training has stopped). None waits forever.")
flags.DEFINE_boolean("fit_grading", False, "Fit, on this split, the grade thresholds that maximise QWK and "
                     "the two-eye fusion, and record them with the checkpoint's training settings (predict and "
                     "export then use them). Use the validation split.")
flags.DEFINE_integer("num_heatmaps", 3, "Grad-CAM pictures of this many images (the first ones of the split) "
                     "go to TensorBoard as eval/GradCAM/i (and into the --report_dir report).")
flags.DEFINE_string("report_dir", None, "Write a screening-trial report of the evaluation here: report.html (one "
                    "self-contained page) and report.json (referable DR per eye and per patient with 95 % intervals "
                    "at the operating points fixed by --fit_grading on the development split, imageability, "
                    "calibration).")
shared_flags.define_refused("quantize", "use_grayscale")
flags.mark_flag_as_required("dataset_dir")

FLAGS = flags.FLAGS


def main(_):
    try:
        run()
    except ValueError as error:
        sys.exit(f"eval_image_classifier.py: {error}")
    except KeyboardInterrupt:
        interruption.stop("the figures of the checkpoint being evaluated were not written")


def run():
    shared_flags.check_refused(FLAGS, "quantize", "use_grayscale")
    description = model_flags.read_description(FLAGS.checkpoint_path)
    model_flags.check_flags()
    model_flags.check_image_size(description)
    model_flags.check_dr_grades_flag("fit_grading", description)
    model_flags.check_dr_grades_flag("report_dir", description)
    model_flags.check_outputs()
    dataset = dataset_factory.get_dataset(description.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    model_flags.check_preparation(description, dataset)
    num_classes = dataset.num_classes - description.labels_offset
    description = model_flags.with_num_classes(description, num_classes)
    eval_input = evaluate.dataset_input(dataset, num_classes, FLAGS.batch_size, FLAGS.num_preprocessing_threads,
                                        description.labels_offset)
    report_request = FLAGS.report_dir and trial_report.ReportRequest(
        FLAGS.report_dir, f"{description.dataset_name}, split {FLAGS.dataset_split_name}",
        imageability.conversion_photos(FLAGS.dataset_dir, description.dataset_name, FLAGS.dataset_split_name))
    with writer_lock.sole_writer(FLAGS.eval_dir, "eval_dir"):
        evaluate.evaluate(FLAGS.checkpoint_path, eval_input, model_flags.model_config(description), FLAGS.eval_dir,
                          predictions_file=FLAGS.predictions_file, max_num_batches=FLAGS.max_num_batches,
                          master=FLAGS.master, eval_interval_secs=FLAGS.eval_interval_secs,
                          max_evals=FLAGS.max_evals, timeout=FLAGS.timeout,
                          model_grading=description.grading, fit_grading=FLAGS.fit_grading,
                          num_heatmaps=FLAGS.num_heatmaps, report_request=report_request)


if __name__ == "__main__":
    app.run(main)
