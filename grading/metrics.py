"""Classification metrics, and diabetic-retinopathy grading metrics, computed exactly from per-image arrays.

Everything here works on the arrays collected by one pass over a split, so the
printed figures, the TensorBoard summaries and the per-image predictions CSV
describe the same images. A metric that is undefined for the data (no image of
a grade, a single class present) is NaN rather than a made-up number.
"""
import numpy as np
from scipy import stats

from grading import screening

REFERABLE_GRADE = 2
# Upstream reports `Recall_5`, the recall at k = 5 (top-5 accuracy).
TOP_K = 5


def confusion_matrix(labels, predictions, num_classes):
    """Returns the [num_classes, num_classes] int64 count matrix, rows = true grade, columns = predicted.

    Raises:
      ValueError: a label or prediction lies outside [0, num_classes).
    """
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    for name, values in (("label", labels), ("prediction", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name}s must lie in [0, {num_classes}); got {values.min()}..{values.max()}")
    flat = labels * num_classes + predictions
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def quadratic_weighted_kappa(matrix):
    """Returns Kaggle's quadratic weighted kappa of a confusion matrix.

    With N classes, weights w_ij = (i - j)^2 / (N - 1)^2, observed O = the matrix and
    expected E = outer(true histogram, predicted histogram) / sum(O):
    kappa = 1 - sum(w * O) / sum(w * E). 1 is perfect agreement, 0 is chance level
    (e.g. a constant prediction). NaN when sum(w * E) is 0 (a single grade on both sides).
    """
    observed = np.asarray(matrix, dtype=np.float64)
    num_classes = observed.shape[0]
    grades = np.arange(num_classes)
    weights = (grades[:, None] - grades[None, :]) ** 2 / (num_classes - 1) ** 2
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    expected_disagreement = (weights * expected).sum()
    if expected_disagreement == 0:
        return float("nan")
    return float(1.0 - (weights * observed).sum() / expected_disagreement)


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else float("nan")


def per_grade_recall(matrix):
    """Returns, per grade, the share of images of that grade predicted as it (NaN if none has it)."""
    return [_ratio(matrix[grade, grade], matrix[grade].sum()) for grade in range(len(matrix))]


def mean_recall(recalls):
    """Returns the mean of the per-grade recalls of the grades present (balanced accuracy).

    Unlike accuracy and QWK it weighs a rare grade as much as a common one: a grader that
    never predicts grades 1 and 3 loses two fifths of it however rare they are.
    """
    present = [recall for recall in recalls if not np.isnan(recall)]
    return float(np.mean(present)) if present else float("nan")


def per_grade_precision(matrix):
    """Returns, per grade, the share of images predicted as that grade that have it (NaN if none predicted)."""
    return [_ratio(matrix[grade, grade], matrix[:, grade].sum()) for grade in range(len(matrix))]


def referable_sensitivity_specificity(matrix, referable_grade=REFERABLE_GRADE):
    """Returns (sensitivity, specificity) of "predicted grade >= referable_grade" for referable DR.

    Referable DR is moderate or worse (grade >= 2), the screening threshold of Gulshan et al. 2016.
    """
    referable = slice(referable_grade, None)
    healthy = slice(None, referable_grade)
    true_positives = matrix[referable, referable].sum()
    true_negatives = matrix[healthy, healthy].sum()
    return (_ratio(true_positives, matrix[referable].sum()),
            _ratio(true_negatives, matrix[healthy].sum()))


def roc_auc(binary_labels, scores):
    """Returns the area under the ROC curve, ties between a positive and a negative counting 1/2.

    This is the Mann-Whitney U statistic over midranks: the probability that a random positive
    scores above a random negative. NaN when only one class is present.
    """
    binary_labels = np.asarray(binary_labels, dtype=bool)
    num_positive = int(binary_labels.sum())
    num_negative = binary_labels.size - num_positive
    if num_positive == 0 or num_negative == 0:
        return float("nan")
    ranks = stats.rankdata(np.asarray(scores, dtype=np.float64))
    positive_rank_sum = ranks[binary_labels].sum()
    return float((positive_rank_sum - num_positive * (num_positive + 1) / 2) / (num_positive * num_negative))


def referable_probability(probabilities, referable_grade=REFERABLE_GRADE):
    """Returns P(grade >= referable_grade) per image from [num_images, num_classes] probabilities."""
    return np.asarray(probabilities)[:, referable_grade:].sum(axis=1)


def top_k_recall(labels, probabilities, k):
    """Returns the fraction of images whose label is among their `k` most probable classes (upstream's
    streaming recall at k)."""
    top_k = np.argsort(-np.asarray(probabilities), axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top_k == np.asarray(labels)[:, None], axis=1)))


def compute_metrics(labels, probabilities, dr_grades=True, grades=None):
    """Returns every eval metric and the confusion matrix for one pass over a split.

    Args:
      labels: [num_images] true grades (classes).
      probabilities: [num_images, num_classes] predicted class probabilities.
      dr_grades: the labels are diabetic-retinopathy grades (dataset_factory.has_dr_grades); without
        them only the metrics valid for any classifier are computed.
      grades: [num_images] the grades the model gives (e.g. its regression output cut at
        thresholds), which the confusion matrix and the metrics of exact grades count; None: the
        probabilities' argmax. The referable AUC, operating points and calibration use `probabilities`.

    Returns:
      (metrics, matrix): `metrics` is a dict from name (`Accuracy`, `QuadraticWeightedKappa`,
      `Recall_g` per grade g, `Mean_Recall`, `Precision_g` per grade g, `Referable_Sensitivity`,
      `Referable_Specificity`, `Referable_AUC`, the screening operating points of `screening.OPERATING_POINTS`,
      `Expected_Calibration_Error`) to float, in print order; `matrix` is the confusion matrix.
      Without `dr_grades`, `QuadraticWeightedKappa` and the `Referable_*` metrics are left out.
      With more than five classes upstream's `Recall_5` (top-5 recall) comes before the per-class
      metrics and their names become `Recall_class_g` and `Precision_class_g`; with five or fewer,
      top-5 recall is always 1 and is left out.

    Raises:
      ValueError: no images, or labels outside [0, num_classes) (e.g. the unlabelled test split).
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if labels.size == 0:
        raise ValueError("no images to evaluate")
    num_classes = probabilities.shape[1]
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1) if grades is None else grades, num_classes)
    metrics = {"Accuracy": float(np.trace(matrix) / matrix.sum())}
    if dr_grades:
        metrics["QuadraticWeightedKappa"] = quadratic_weighted_kappa(matrix)
    if num_classes > TOP_K:
        metrics[f"Recall_{TOP_K}"] = top_k_recall(labels, probabilities, TOP_K)
    per_class = "" if num_classes <= TOP_K else "class_"
    recalls = per_grade_recall(matrix)
    for grade, recall in enumerate(recalls):
        metrics[f"Recall_{per_class}{grade}"] = recall
    metrics["Mean_Recall"] = mean_recall(recalls)
    for grade, precision in enumerate(per_grade_precision(matrix)):
        metrics[f"Precision_{per_class}{grade}"] = precision
    if dr_grades:
        metrics.update(referable_metrics(labels, probabilities, matrix))
    metrics["Expected_Calibration_Error"] = screening.expected_calibration_error(labels, probabilities)
    return metrics, matrix


def referable_metrics(labels, probabilities, matrix):
    """Returns the referable-DR metrics (grade >= 2): sensitivity, specificity, AUC and screening operating points."""
    values = dict(zip(("Referable_Sensitivity", "Referable_Specificity"), referable_sensitivity_specificity(matrix)))
    referable_scores = referable_probability(probabilities)
    values["Referable_AUC"] = roc_auc(labels >= REFERABLE_GRADE, referable_scores)
    values.update(screening.operating_point_metrics(
        screening.screening_operating_points(labels >= REFERABLE_GRADE, referable_scores)))
    return values
