"""Two-eye fusion: a fixed mix of both eyes' probabilities, or one fitted on validation.

`combine_eyes` (predict's `--other_eye_weight`) lets each eye's prediction borrow a fixed share
of the other eye's. The fitted fusion grades each eye from both eyes' grade scores.

A patient's two eyes usually share a grade (Kaggle's labels differ by more than one
grade in few patients), so the other eye is evidence about this one. As the 2015
winners did, a small linear model is fitted on the validation split: the fused score of
an eye is `bias + own_weight * own score + other_weight * other eye's score` (least
squares on the grade), then cut into grades at QWK-fitted thresholds. An eye without
a partner in the set stands in for its own other eye.
"""
import numpy as np

from grading import thresholds
from utils import eye_photos

DEFAULT_OTHER_EYE_WEIGHT = 0.25


def _features(scores, filenames):
    scores = np.asarray(scores, dtype=np.float64)
    return np.stack([np.ones_like(scores), scores, scores[eye_photos.other_eye_indices(filenames)]], axis=1)


def fused_scores(scores, filenames, weights):
    """Returns each eye's fused score from `weights` = [bias, own_weight, other_weight]."""
    return _features(scores, filenames) @ np.asarray(weights, dtype=np.float64)


def fit_fusion(labels, scores, filenames, num_classes):
    """Fits the fusion weights and the thresholds of the fused score for QWK.

    Args:
      labels: [num_images] true grades.
      scores: [num_images] each eye's own grade score (regression output or expected grade).
      filenames: image ids (`{patient}_{left|right}`) pairing the eyes.
      num_classes: number of grades.

    Returns:
      {'weights': [bias, own, other], 'thresholds': [...], 'kappa': QWK of the fused grades}.

    Raises:
      ValueError: no image has a partner (nothing to fuse), or fewer than two grades.
    """
    if np.all(eye_photos.other_eye_indices(filenames) == np.arange(len(filenames))):
        raise ValueError("no image has its patient's other eye in the set (names like 10_left, 10_right)")
    weights, *_ = np.linalg.lstsq(_features(scores, filenames), np.asarray(labels, dtype=np.float64), rcond=None)
    cuts, kappa = thresholds.fit_thresholds(labels, fused_scores(scores, filenames, weights), num_classes)
    return {"weights": [float(weight) for weight in weights], "thresholds": cuts, "kappa": kappa}


def fused_grades(scores, filenames, fusion):
    """Returns each eye's grade under a fitted `fusion` (what fit_fusion returned)."""
    return thresholds.apply_thresholds(fused_scores(scores, filenames, fusion["weights"]), fusion["thresholds"])


def combine_eyes(filenames, probabilities, other_eye_weight=DEFAULT_OTHER_EYE_WEIGHT):
    """Mixes each eye's probabilities with those of the same patient's other eye.

    Args:
      filenames: image ids such as `10_left`.
      probabilities: [num_images, num_classes].
      other_eye_weight: share of the other eye in the result; 0 changes nothing, 0.5 gives
        both eyes the patient's mean.

    Returns:
      New [num_images, num_classes] probabilities; images without a partner are unchanged.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    other_eye = probabilities[eye_photos.other_eye_indices(filenames)]
    return (1 - other_eye_weight) * probabilities + other_eye_weight * other_eye
