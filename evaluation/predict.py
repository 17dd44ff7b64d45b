"""Predicts grades for unlabelled images and writes the Kaggle submission `image,level`."""
from absl import logging

from evaluation import checkpoints, evaluator, submission


def predict(checkpoint_path, config, make_batches, expected_count, submission_file, combine_eyes=False,
            other_eye_weight=submission.DEFAULT_OTHER_EYE_WEIGHT, master=""):
    """Runs a checkpoint over one pass of unlabelled images and writes a Kaggle submission.

    Args:
      checkpoint_path: a checkpoint prefix, or a directory (its latest checkpoint).
      config: an evaluator.ModelConfig (its `tta` averages flips and quarter turns).
      make_batches: see evaluator.collect_predictions.
      expected_count: number of images the pass should yield.
      submission_file: the CSV to write, one `image,level` row per image.
      combine_eyes: mix each eye's probabilities with the patient's other eye before grading.
      other_eye_weight: the other eye's share when combining.
      master: TF master address.

    Returns:
      The evaluator.Predictions written (with combined probabilities when asked).
    """
    checkpoint = checkpoints.resolve_checkpoint(checkpoint_path)
    logging.info("Predicting with %s", checkpoint)
    predictions = evaluator.collect_predictions(checkpoint, config, make_batches, expected_count, master=master)
    if combine_eyes:
        predictions.probabilities = submission.combine_eyes(predictions.filenames, predictions.probabilities,
                                                            other_eye_weight)
    submission.write_submission_csv(submission_file, predictions.filenames, predictions.grades)
    logging.info("Wrote %d rows to %s", len(predictions.filenames), submission_file)
    return predictions
