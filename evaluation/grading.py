"""How a model's outputs become grades: QWK thresholds and two-eye fusion, fitted on a labelled split.

`eval_image_classifier.py --fit_grading` fits both on the split it evaluates (the
validation split) and records them in the training folder's settings under GRADING;
eval, predict and export then read them from there. The record:

  {"thresholds": [t1, ..., t_{n-1}],      cuts of the model's grade score (the regression
                                          output, else the softmax's expected grade)
   "eye_fusion": {"weights": [...],       see evaluation.eye_fusion; absent when the split
                  "thresholds": [...]},   had no pairs of eyes
   "fitted_on": "...",                    the checkpoint and split, for the record
   "score": "regression" | "expected_grade"}
"""
import numpy as np
from absl import logging

from evaluation import eye_fusion, metrics, thresholds

GRADING = "grading"


def _kappa(labels, grades, num_classes):
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, num_classes))


def fit(predictions, num_classes, fitted_on, regression):
    """Returns the GRADING record fitted on labelled `predictions` (an evaluator.Predictions).

    Raises:
      ValueError: fewer than two grades among the labels.
    """
    cuts, kappa = thresholds.fit_thresholds(predictions.labels, predictions.scores, num_classes)
    record = {"thresholds": cuts, "fitted_on": fitted_on, "score": "regression" if regression else "expected_grade"}
    logging.info("Fitted grade thresholds %s (QWK %.4f on the fitting split)", ", ".join(f"{c:.3f}" for c in cuts),
                 kappa)
    try:
        fusion = eye_fusion.fit_fusion(predictions.labels, predictions.scores, predictions.filenames, num_classes)
    except ValueError as error:
        logging.warning("No two-eye fusion fitted: %s", error)
    else:
        record["eye_fusion"] = {"weights": fusion["weights"], "thresholds": fusion["thresholds"]}
        logging.info("Fitted two-eye fusion: bias %.3f, own eye %.3f, other eye %.3f (QWK %.4f)",
                     *fusion["weights"], fusion["kappa"])
    return record


def kappas(predictions, num_classes, grading, regression):
    """Returns the QWKs beyond the softmax argmax's, for eval to report next to it.

    `QuadraticWeightedKappa_Regression`: the regression output rounded (with a regression
    head); `QuadraticWeightedKappa_Thresholds`: the grade score cut at `grading`'s
    thresholds; `QuadraticWeightedKappa_EyeFusion`: both eyes fused, then cut.
    """
    labels, scores = predictions.labels, predictions.scores
    values = {}
    if regression:
        rounded = np.clip(np.rint(scores), 0, num_classes - 1).astype(np.int64)
        values["QuadraticWeightedKappa_Regression"] = _kappa(labels, rounded, num_classes)
    if grading and grading.get("thresholds"):
        values["QuadraticWeightedKappa_Thresholds"] = _kappa(
            labels, thresholds.apply_thresholds(scores, grading["thresholds"]), num_classes)
    if grading and grading.get("eye_fusion"):
        values["QuadraticWeightedKappa_EyeFusion"] = _kappa(
            labels, eye_fusion.fused_grades(scores, predictions.filenames, grading["eye_fusion"]), num_classes)
    return values
