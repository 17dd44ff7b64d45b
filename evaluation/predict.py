"""Predicts grades for unlabelled images and writes the Kaggle submission `image,level`."""
from absl import logging

from grading import eye_fusion as fusion
from inference import heatmaps, model_runner
from reporting import submission
from utils import checkpoint_files


def predict(checkpoint_path, config, make_batches, expected_count, submission_file, combine_eyes=False,
            other_eye_weight=fusion.DEFAULT_OTHER_EYE_WEIGHT, master="", eye_fusion=None, heatmap_dir=None,
            shards=()):
    """Runs a checkpoint over one pass of unlabelled images and writes a Kaggle submission.

    Args:
      checkpoint_path: a checkpoint prefix, or a directory (its latest checkpoint).
      config: a model_runner.ModelConfig (its `tta` averages flips and quarter turns).
      make_batches: see model_runner.collect_predictions.
      expected_count: number of images the pass should yield.
      submission_file: the CSV to write, one `image,level` row per image.
      combine_eyes: mix each eye's probabilities with the patient's other eye before grading.
      other_eye_weight: the other eye's share when combining.
      master: TF master address.
      eye_fusion: a fitted two-eye fusion (grading.eye_fusion); given, it grades each eye from
        both eyes' grade scores instead of `combine_eyes`' fixed mix.
      heatmap_dir: None, or a folder for one Grad-CAM picture per image (heatmaps.HeatmapWriter).
      shards: the TFRecords `make_batches` reads, named if one is corrupt.

    Returns:
      The model_runner.Predictions (with combined probabilities and scores under the fixed mix).
    """
    checkpoint = checkpoint_files.resolve(checkpoint_path)
    logging.info("Predicting with %s", checkpoint)
    predictions = model_runner.collect_predictions(
        checkpoint, config, make_batches, expected_count, master=master,
        heatmap_sink=heatmaps.HeatmapWriter(heatmap_dir) if heatmap_dir else None, shards=shards)
    grades = predictions.grades
    if eye_fusion:
        grades = fusion.fused_grades(predictions.scores, predictions.filenames, eye_fusion)
    elif combine_eyes:
        predictions.probabilities = fusion.combine_eyes(predictions.filenames, predictions.probabilities,
                                                        other_eye_weight)
        predictions.scores = fusion.combine_eyes(predictions.filenames, predictions.scores[:, None],
                                                 other_eye_weight)[:, 0]
        grades = predictions.grades
    submission.write_submission_csv(submission_file, predictions.filenames, grades)
    logging.info("Wrote %d rows to %s", len(predictions.filenames), submission_file)
    return predictions
