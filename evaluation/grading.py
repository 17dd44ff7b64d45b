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


def grading_variants(predictions, num_classes, grading, regression):
    """Returns QWK and mean recall of the other ways to grade, for eval to report next to the model's own.

    `_Softmax`: the softmax's argmax (when the model grades otherwise); `_Regression`: the
    regression output rounded (with a regression head); `_Thresholds`: the grade score cut at
    `grading`'s thresholds; `_EyeFusion`: both eyes fused, then cut. Each as
    `QuadraticWeightedKappa_X` and `Mean_Recall_X`.
    """
    labels, scores = predictions.labels, predictions.scores
    variants = {}
    if predictions.thresholds is not None:
        variants["Softmax"] = predictions.probabilities.argmax(axis=1)
    if regression:
        variants["Regression"] = np.clip(np.rint(scores), 0, num_classes - 1).astype(np.int64)
    if grading and grading.get("thresholds"):
        variants["Thresholds"] = thresholds.apply_thresholds(scores, grading["thresholds"])
    if grading and grading.get("eye_fusion"):
        variants["EyeFusion"] = eye_fusion.fused_grades(scores, predictions.filenames, grading["eye_fusion"])
    values = {}
    for name, grades in variants.items():
        matrix = metrics.confusion_matrix(labels, grades, num_classes)
        values[f"QuadraticWeightedKappa_{name}"] = metrics.quadratic_weighted_kappa(matrix)
        values[f"Mean_Recall_{name}"] = metrics.mean_recall(metrics.per_grade_recall(matrix))
    return values
