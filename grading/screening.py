"""Screening figures of a referable-DR score: ROC curve, operating points, calibration error.

Screening programmes judge a grader at a fixed operating point: the sensitivity it
reaches while keeping specificity at 0.90 or 0.95, or the specificity it keeps while
finding 90 % or 97.5 % of referable eyes (Gulshan et al., JAMA 2016, chose its two
operating points that way). Each point here is read off the empirical ROC curve of
the score, so it is the best the score can do on this split at that constraint.
"""
import numpy as np

# (metric name, constrained rate, its minimum): sensitivity at a specificity, and the reverse.
OPERATING_POINTS = (
    ("Referable_Sensitivity_at_Specificity90", "specificity", 0.90),
    ("Referable_Sensitivity_at_Specificity95", "specificity", 0.95),
    ("Referable_Specificity_at_Sensitivity90", "sensitivity", 0.90),
    ("Referable_Specificity_at_Sensitivity975", "sensitivity", 0.975),
)
CALIBRATION_BINS = 10


def roc_curve(binary_labels, scores):
    """Returns (false positive rates, true positive rates, thresholds) of "score >= threshold".

    The first point is (0, 0) at threshold +inf; then one point per distinct score, from the
    highest down, so ties move together. Rates are NaN when a class is absent.
    """
    binary_labels = np.asarray(binary_labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    scores, binary_labels = scores[order], binary_labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1] if scores.size else np.zeros(0, int)
    true_positives = np.cumsum(binary_labels)[last_of_tie]
    false_positives = (last_of_tie + 1) - true_positives
    num_positive, num_negative = binary_labels.sum(), (~binary_labels).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = np.r_[0.0, true_positives / num_positive] if num_positive else np.full(last_of_tie.size + 1, np.nan)
        fpr = np.r_[0.0, false_positives / num_negative] if num_negative else np.full(last_of_tie.size + 1, np.nan)
    return fpr, tpr, np.r_[np.inf, scores[last_of_tie]]


def operating_point(fpr, tpr, thresholds, constrained, minimum):
    """Returns (sensitivity, specificity, threshold) of the ROC point best at `constrained` >= `minimum`.

    `constrained` is "specificity" (the point then has the highest sensitivity among those with
    specificity >= minimum) or "sensitivity" (the highest specificity among sensitivity >= minimum).
    All NaN when the curve is undefined (a class absent).
    """
    specificity = 1.0 - fpr
    if np.isnan(tpr).any() or np.isnan(fpr).any():
        return float("nan"), float("nan"), float("nan")
    if constrained == "specificity":
        allowed, objective = specificity >= minimum - 1e-12, tpr
    elif constrained == "sensitivity":
        allowed, objective = tpr >= minimum - 1e-12, specificity
    else:
        raise ValueError(f"constrained must be 'specificity' or 'sensitivity', not {constrained!r}")
    candidates = np.flatnonzero(allowed)
    best = candidates[np.argmax(objective[candidates])]
    return float(tpr[best]), float(specificity[best]), float(thresholds[best])


def screening_operating_points(binary_labels, scores):
    """Returns {metric name: (sensitivity, specificity, threshold)} for the OPERATING_POINTS."""
    curve = roc_curve(binary_labels, scores)
    return {name: operating_point(*curve, constrained, minimum) for name, constrained, minimum in OPERATING_POINTS}


def operating_point_metrics(points):
    """Returns {metric name: the rate it names} from `screening_operating_points`' result."""
    return {name: points[name][0] if constrained == "specificity" else points[name][1]
            for name, constrained, _ in OPERATING_POINTS}


def reliability_bins(outcomes, probabilities, num_bins=CALIBRATION_BINS):
    """Returns the reliability diagram of `probabilities` that `outcomes` (bool) are true.

    Returns:
      (counts, mean probabilities, observed frequencies) per equal-width bin of the
      probability; the means and frequencies of an empty bin are NaN.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    bins = np.minimum((probabilities * num_bins).astype(int), num_bins - 1)
    counts = np.bincount(bins, minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(bins, probabilities, num_bins) / counts
        observed = np.bincount(bins, np.asarray(outcomes, dtype=np.float64), num_bins) / counts
    return counts, means, observed


def calibration_error(counts, means, observed):
    """Returns the count-weighted mean over the non-empty bins of |observed frequency - mean probability|."""
    filled = counts > 0
    return float((counts[filled] * np.abs(observed[filled] - means[filled])).sum() / counts.sum())


def expected_calibration_error(labels, probabilities, num_bins=CALIBRATION_BINS):
    """Returns the expected calibration error of the predicted grade's probability (Guo et al. 2017).

    Images are binned by the confidence of their argmax grade into `num_bins` equal-width bins;
    the result is the image-weighted mean over bins of |accuracy - mean confidence|: 0 when a
    stated 80 % is right 80 % of the time.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape[0] == 0:
        return float("nan")
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    return calibration_error(*reliability_bins(correct, probabilities.max(axis=1), num_bins))
