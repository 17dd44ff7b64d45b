"""Grades from a continuous score by thresholds fitted to maximise quadratic weighted kappa.

A grader's errors on DR are mostly ordinal (one grade off). Kaggle's 2015 winners
therefore predicted a continuous grade (a regression output, or the softmax's
expected grade sum_g g * p_g) and cut it into grades at thresholds tuned on held-out
data for the competition metric, QWK. `fit_thresholds` does that tuning by
coordinate ascent: each threshold in turn moves to the candidate cut (a midpoint
between neighbouring scores) that maximises QWK with the others fixed, until no move
helps. It starts from plain rounding and from the cuts that give the predicted
grades the labels' histogram, and keeps the better result.
"""
import numpy as np

from grading import metrics

MAX_CANDIDATES = 256
MAX_ROUNDS = 20
# Scores meet cuts at the graph's precision, so eval's grades are those of the SavedModel and TFLite graders.
CUT_DTYPE = np.float32


def expected_grade(probabilities):
    """Returns sum_g g * p_g per image from [num_images, num_classes] probabilities."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return probabilities @ np.arange(probabilities.shape[1])


def apply_thresholds(scores, thresholds):
    """Returns the grade of each score: the number of thresholds at or below it, both in CUT_DTYPE.

    This is the one grade-cut rule; model_runner.graph_grades builds the same cast, comparison and
    count in the graph (a test pins the two equal, ties at a cut included).
    """
    scores = np.asarray(scores, dtype=CUT_DTYPE)
    cuts = np.asarray(thresholds, dtype=CUT_DTYPE)
    return np.sum(scores[..., None] >= cuts, axis=-1, dtype=np.int64)


def rounding_thresholds(num_classes):
    """Returns the thresholds of plain rounding: 0.5, 1.5, ..., num_classes - 1.5."""
    return np.arange(num_classes - 1) + 0.5


def _kappa(labels, scores, thresholds, num_classes):
    grades = apply_thresholds(scores, thresholds)
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, num_classes))


def _candidates(scores):
    """Midpoints between consecutive distinct scores (at most MAX_CANDIDATES, spread by quantile)."""
    distinct = np.unique(scores)
    cuts = (distinct[1:] + distinct[:-1]) / 2 if distinct.size > 1 else distinct
    if cuts.size > MAX_CANDIDATES:
        cuts = np.unique(np.quantile(cuts, np.linspace(0, 1, MAX_CANDIDATES)))
    return np.r_[distinct[0] - 1, cuts, distinct[-1] + 1]


def frequency_thresholds(scores, frequencies):
    """Returns the ascending cuts of `scores` that grade them with the given grade `frequencies`.

    Each cut is the score quantile at the cumulative share of the grades below it, so that
    (ties aside) a share frequencies[g] of the scores falls into grade g: the grading keeps the
    order of the scores and takes the grades' frequencies from elsewhere (e.g. the training split's).
    """
    frequencies = np.asarray(frequencies, dtype=np.float64)
    shares = np.clip(np.cumsum(frequencies)[:-1] / frequencies.sum(), 0.0, 1.0)
    return np.quantile(np.asarray(scores, dtype=np.float64), shares)


def _histogram_thresholds(labels, scores, num_classes):
    """Cuts at the score quantiles that give each grade its share of the labels."""
    return frequency_thresholds(scores, np.bincount(labels, minlength=num_classes))


def _ascend(labels, scores, thresholds, candidates, num_classes):
    """Coordinate ascent from `thresholds`; returns (thresholds, kappa)."""
    thresholds = np.sort(np.asarray(thresholds, dtype=np.float64))
    best = _kappa(labels, scores, thresholds, num_classes)
    for _ in range(MAX_ROUNDS):
        improved = False
        for index in range(thresholds.size):
            low = thresholds[index - 1] if index else -np.inf
            high = thresholds[index + 1] if index + 1 < thresholds.size else np.inf
            for candidate in candidates[(candidates >= low) & (candidates <= high)]:
                trial = thresholds.copy()
                trial[index] = candidate
                kappa = _kappa(labels, scores, trial, num_classes)
                if kappa > best + 1e-12:
                    best, thresholds, improved = kappa, trial, True
        if not improved:
            break
    return thresholds, best


def fit_thresholds(labels, scores, num_classes):
    """Returns (ascending thresholds, their QWK): the cuts of `scores` into grades that maximise QWK.

    Args:
      labels: [num_images] true grades 0..num_classes-1.
      scores: [num_images] continuous grade estimates (regression output or expected grade).
      num_classes: number of grades; num_classes - 1 thresholds are returned.

    Raises:
      ValueError: no images, or fewer than two distinct labels (QWK is then undefined).
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.size == 0 or np.unique(labels).size < 2:
        raise ValueError("fitting thresholds needs images of at least two grades")
    candidates = _candidates(scores)
    starts = [rounding_thresholds(num_classes), _histogram_thresholds(labels, scores, num_classes)]
    fits = [_ascend(labels, scores, start, candidates, num_classes) for start in starts]
    thresholds, kappa = max(fits, key=lambda fit: fit[1])
    return [float(value) for value in thresholds], kappa
