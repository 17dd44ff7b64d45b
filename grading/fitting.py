"""How a model's outputs become grades: QWK thresholds and two-eye fusion, fitted on a labelled split.

`eval_image_classifier.py --fit_grading` fits both on the split it evaluates (the
validation split) and records them in the training folder's settings under GRADING
(utils.model_description.FittedGrading, the description's grading); eval, predict and
export then read them from there. The record:

  {"thresholds": [t1, ..., t_{n-1}],      cuts of the model's grade score (the regression
                                          output, else the softmax's expected grade)
   "eye_fusion": {"weights": [...],       see grading.eye_fusion; absent when the split
                  "thresholds": [...]},   had no pairs of eyes
   "fitted_on": "...",                    the checkpoint and split, for the record
   "score": "regression" | "expected_grade",
   "operating_points": {...}}             referable-DR thresholds (grading.operating_points);
                                          absent when the split lacks a class
"""
import numpy as np
from absl import logging

from grading import eye_fusion, metrics, operating_points, thresholds
from utils import eye_photos, model_description, run_settings

GRADING = run_settings.GRADING


def fit(predictions, num_classes, fitted_on, regression, source=None):
    """Returns the model_description.FittedGrading fitted on labelled `predictions` (a model_runner.Predictions)
    of `source`.

    Raises:
      ValueError: fewer than two grades among the labels.
    """
    cuts, kappa = thresholds.fit_thresholds(predictions.labels, predictions.scores, num_classes)
    record = {"thresholds": cuts, "fitted_on": fitted_on,
              "score": model_description.REGRESSION_SCORE if regression else model_description.EXPECTED_GRADE_SCORE}
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
    try:
        record[operating_points.RECORD_KEY] = operating_points.fit(
            predictions.labels, predictions.probabilities, predictions.filenames, source,
            predictions.extras.get("dme"), predictions.extras.get("patient"))
    except ValueError as error:
        logging.warning("No referable operating points fixed: %s", error)
    return model_description.FittedGrading.from_json(record)


def patient_folds(filenames):
    """Two folds of image indices, alternate patients in name order, both eyes of a patient in the same fold."""
    patient_of = [min(index, partner) for index, partner in enumerate(eye_photos.other_eye_indices(filenames))]
    first = set(sorted(set(patient_of), key=lambda index: filenames[index])[::2])
    in_first = np.array([patient in first for patient in patient_of])
    return [np.flatnonzero(in_first), np.flatnonzero(~in_first)]


def cross_fitted_grades(predictions, fit_and_grade):
    """Grades each patient fold with what `fit_and_grade(fit_indices, apply_indices)` fits on the other fold.

    An honest estimate of a fitted grading: no image is graded by a fit that saw it. A
    fold that cannot be fitted (a single grade, no pairs of eyes) keeps the model's own grades.
    """
    grades = np.array(predictions.grades, dtype=np.int64)
    first, second = patient_folds(predictions.filenames)
    for fit_on, apply_to in ((first, second), (second, first)):
        if len(fit_on) and len(apply_to):
            try:
                grades[apply_to] = fit_and_grade(fit_on, apply_to)
            except ValueError as error:
                logging.info("Cross-fitting skipped one fold: %s", error)
    return grades


def cross_fitted_threshold_grades(predictions, num_classes):
    """The grades of QWK thresholds cross-fitted over two patient folds (cross_fitted_grades)."""
    def fit_and_grade(fit_on, apply_to):
        cuts, _ = thresholds.fit_thresholds(predictions.labels[fit_on], predictions.scores[fit_on], num_classes)
        return thresholds.apply_thresholds(predictions.scores[apply_to], cuts)
    return cross_fitted_grades(predictions, fit_and_grade)


def cross_fitted_fusion_grades(predictions, num_classes):
    """The grades of the two-eye fusion cross-fitted over two patient folds (cross_fitted_grades)."""
    names = np.array(predictions.filenames)

    def fit_and_grade(fit_on, apply_to):
        fusion = eye_fusion.fit_fusion(predictions.labels[fit_on], predictions.scores[fit_on], list(names[fit_on]),
                                       num_classes)
        return eye_fusion.fused_grades(predictions.scores[apply_to], list(names[apply_to]), fusion)
    return cross_fitted_grades(predictions, fit_and_grade)


def grading_variants(predictions, num_classes, fitted, regression, cross_fit=False):
    """Returns QWK and mean recall of the other ways to grade, for eval to report next to the model's own.

    `_Softmax`: the softmax's argmax (when the model grades otherwise); `_Regression`: the
    regression head's raw output rounded (with a regression head; what the model's own grades
    were before the class-prior correction, grading.class_prior); `_Thresholds`: the grade score cut at
    the thresholds of `fitted` (a model_description.FittedGrading, or None); `_EyeFusion`: both eyes fused
    by its fusion, then cut. With `cross_fit` (the
    grading was fitted on these predictions, whose figures it flatters) also
    `_Thresholds_CrossFitted` and `_EyeFusion_CrossFitted`: each half of the patients graded by
    a fit on the other half. Each as `QuadraticWeightedKappa_X` and `Mean_Recall_X`.
    """
    labels, scores = predictions.labels, predictions.scores
    variants = {}
    if predictions.thresholds is not None:
        variants["Softmax"] = predictions.probabilities.argmax(axis=1)
    if regression:
        raw = predictions.regression if predictions.regression is not None else scores
        variants["Regression"] = thresholds.apply_thresholds(raw, thresholds.rounding_thresholds(num_classes))
    if fitted and fitted.thresholds:
        variants["Thresholds"] = thresholds.apply_thresholds(scores, fitted.thresholds)
    if fitted and fitted.eye_fusion:
        variants["EyeFusion"] = eye_fusion.fused_grades(scores, predictions.filenames, fitted.eye_fusion)
    if cross_fit:
        variants["Thresholds_CrossFitted"] = cross_fitted_threshold_grades(predictions, num_classes)
        variants["EyeFusion_CrossFitted"] = cross_fitted_fusion_grades(predictions, num_classes)
    values = {}
    for name, grades in variants.items():
        matrix = metrics.confusion_matrix(labels, grades, num_classes)
        values[f"QuadraticWeightedKappa_{name}"] = metrics.quadratic_weighted_kappa(matrix)
        values[f"Mean_Recall_{name}"] = metrics.mean_recall(metrics.per_grade_recall(matrix))
    return values
