"""Evaluates checkpoints on a labelled split: one exact pass, metrics, report, predictions CSV."""
import dataclasses
from typing import Callable

import numpy as np
from absl import logging

from datasets import input_pipeline
from grading import fitting, metrics
from inference import heatmaps, model_runner
from reporting import baseline, eval_summaries, referable_curves, submission, trial_report
from slim_compat import tf
from utils import checkpoint_files, model_description


@dataclasses.dataclass(frozen=True)
class EvalInput:
    """A labelled split to evaluate on.

    Attributes:
      make_batches: see model_runner.collect_predictions.
      num_samples: images in the split.
      shards: the TFRecords `make_batches` reads (named if one is corrupt).
      class_names: names of the labels 0..num_classes-1 (after any labels offset).
      source: where the images come from, for messages.
      dr_grades: the labels are diabetic-retinopathy grades (dataset_factory.has_dr_grades): the
        evaluation then adds QWK, the referable-DR metrics and curves, and the fitted grading.
    """
    make_batches: Callable
    num_samples: int
    class_names: list
    source: str
    dr_grades: bool = False
    shards: tuple = ()


def dataset_input(dataset, num_classes, batch_size, num_preprocessing_threads=4, labels_offset=0):
    """Returns the EvalInput of one ordered pass over a slim Dataset."""
    def make_batches(preprocessing_fn, image_size):
        return input_pipeline.build_batches(dataset, preprocessing_fn, image_size, batch_size, is_training=False,
                                            num_preprocessing_threads=num_preprocessing_threads,
                                            labels_offset=labels_offset)
    names = dataset.labels_to_names or {}
    return EvalInput(make_batches=make_batches, num_samples=dataset.num_samples,
                     class_names=[names.get(label + labels_offset, str(label + labels_offset))
                                  for label in range(num_classes)],
                     source=str(dataset.data_sources), dr_grades=getattr(dataset, "dr_grades", False),
                     shards=tuple(input_pipeline.list_shards(dataset)))


def evaluate_checkpoint(checkpoint, eval_input, config, eval_dir, summary_writer,
                        predictions_file=None, max_num_batches=None, master="",
                        model_grading=model_description.Grading(), fit_grading=False, num_heatmaps=0,
                        report_request=None):
    """Evaluates one checkpoint: prints and records its metrics, optionally writes the predictions CSV.

    Args:
      checkpoint: checkpoint prefix.
      eval_input: an EvalInput.
      config: a model_runner.ModelConfig (ModelConfig.from_description: its cuts are `model_grading`'s).
      eval_dir: folder for the confusion matrix PNG.
      summary_writer: tf.summary.FileWriter on `eval_dir`.
      predictions_file: CSV path for the per-image predictions, or None.
      max_num_batches: evaluate only this many batches; None makes the whole pass.
      master: TF master address.
      model_grading: the model's model_description.Grading; the QWKs of its fitted thresholds and
        eye fusion are reported next to the softmax's (on DR grades only).
      fit_grading: fit the grading on this split instead and record it with the checkpoint's
        description (utils.model_description), where predict and export find it; this split is
        then graded at the new cuts (DR grades only: model_flags.check_dr_grades_flag refuses it
        on other datasets).
      num_heatmaps: put Grad-CAM pictures of this many images (from the first batch) into
        TensorBoard, as `eval/GradCAM/i`, and into the trial report.
      report_request: a trial_report.ReportRequest: write the screening-trial report there
        (DR grades only; rewritten for each checkpoint), or None.

    Returns:
      The dict of metrics.

    Raises:
      ValueError: the split is unlabelled (the blind test set: use predict_image_classifier.py).
    """
    global_step = checkpoint_files.step_of(checkpoint)
    logging.info("Evaluating %s (global step %d)", checkpoint, global_step)
    sample = heatmaps.HeatmapSample(num_heatmaps) if num_heatmaps else None
    predictions = model_runner.collect_predictions(checkpoint, config, eval_input.make_batches,
                                                   eval_input.num_samples, max_num_batches, master, sample,
                                                   eval_input.shards)
    if predictions.filenames and np.any(predictions.labels < 0):
        raise ValueError(f"{eval_input.source}: the split is unlabelled; use predict_image_classifier.py "
                         "to write predictions for it")
    if fit_grading:
        model_grading = dataclasses.replace(model_grading, fitted=fitting.fit(
            predictions, config.num_classes, f"{checkpoint} on {eval_input.source}", config.regression_scores,
            eval_input.source))
        model_description.record_grading(checkpoint, model_description.Grading(fitted=model_grading.fitted))
        predictions = dataclasses.replace(predictions, thresholds=model_grading.cuts())
    if predictions_file:
        submission.write_predictions_csv(predictions_file, predictions)
        logging.info("Wrote %d predictions to %s", len(predictions.filenames), predictions_file)
    values, matrix = metrics.compute_metrics(predictions.labels, predictions.probabilities, eval_input.dr_grades,
                                             predictions.grades)
    if eval_input.dr_grades:
        values.update(fitting.grading_variants(predictions, config.num_classes, model_grading.fitted, config.regression,
                                               cross_fit=fit_grading))
    eval_summaries.publish(values, matrix, eval_input.class_names, eval_dir, summary_writer, global_step,
                           label_noun="grade" if eval_input.dr_grades else "class")
    if eval_input.dr_grades and predictions.labels.size and global_step > 0:  # step 0: untrained, as expected
        warning = baseline.below_majority_warning(f"the grades of {checkpoint}", predictions.labels,
                                                  predictions.grades, int(np.argmax(np.bincount(predictions.labels))))
        if warning:
            logging.warning("%s", warning)
    if eval_input.dr_grades:
        referable_curves.publish(predictions.labels, predictions.probabilities, values, eval_dir, summary_writer,
                                 global_step)
    if sample and sample.pictures:
        summary_writer.add_summary(heatmaps.image_summary(sample.pictures, eval_summaries.SUMMARY_PREFIX + "GradCAM"),
                                   global_step)
        summary_writer.flush()
    if report_request:
        paths = trial_report.write(report_request, predictions, model_grading.fitted, eval_input.source, checkpoint,
                                   global_step, eval_input.class_names, fit_grading,
                                   sample.pictures if sample else ())
        logging.info("Wrote the screening report %s and %s", *paths)
    return values


def evaluate(checkpoint_path, eval_input, config, eval_dir, predictions_file=None,
             max_num_batches=None, master="", eval_interval_secs=None, max_evals=None, timeout=None,
             model_grading=model_description.Grading(), fit_grading=False, num_heatmaps=0, report_request=None):
    """Evaluates `checkpoint_path` once, or every new checkpoint of its directory when given an interval.

    Args:
      checkpoint_path: a checkpoint prefix, or a directory (its latest checkpoint).
      eval_interval_secs: None or 0 evaluates once; otherwise follow the training run, evaluating each
        new checkpoint at most this often, until `max_evals` checkpoints or `timeout` seconds without one.
      Other arguments: see evaluate_checkpoint.

    Returns:
      The list of metric dicts, one per evaluated checkpoint.
    """
    if eval_interval_secs:
        to_evaluate = checkpoint_files.follow(checkpoint_path, eval_interval_secs, timeout, max_evals)
    else:
        to_evaluate = [checkpoint_files.resolve(checkpoint_path)]
    summary_writer = tf.summary.FileWriter(eval_dir)
    try:
        return [evaluate_checkpoint(checkpoint, eval_input, config, eval_dir, summary_writer,
                                    predictions_file, max_num_batches, master, model_grading, fit_grading,
                                    num_heatmaps, report_request)
                for checkpoint in to_evaluate]
    finally:
        summary_writer.close()
