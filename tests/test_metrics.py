"""Eval metrics against confusion matrices and kappas worked out by hand."""
import math

import numpy as np
import pytest

from grading import metrics, screening


def one_hot_probabilities(predictions, num_classes=5, confidence=0.6):
    probabilities = np.full((len(predictions), num_classes), (1 - confidence) / (num_classes - 1))
    probabilities[np.arange(len(predictions)), predictions] = confidence
    return probabilities


def test_confusion_matrix_counts_rows_as_true_and_columns_as_predicted_grade():
    matrix = metrics.confusion_matrix([0, 0, 1, 2, 4, 4], [0, 1, 1, 4, 4, 4], num_classes=5)
    expected = np.zeros((5, 5), dtype=np.int64)
    expected[0, 0] = expected[0, 1] = expected[1, 1] = expected[2, 4] = 1
    expected[4, 4] = 2
    np.testing.assert_array_equal(matrix, expected)


def test_confusion_matrix_rejects_grades_outside_the_classes():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\); got -1..3"):
        metrics.confusion_matrix([-1, 3], [0, 0], num_classes=5)


def test_kappa_of_a_perfect_prediction_is_one():
    grades = [0, 1, 2, 3, 4, 0, 0, 2]
    assert metrics.quadratic_weighted_kappa(metrics.confusion_matrix(grades, grades, 5)) == pytest.approx(1.0)


def test_kappa_of_a_constant_prediction_is_zero():
    matrix = metrics.confusion_matrix([0, 1, 2, 3, 4, 0, 0, 2], [2] * 8, 5)
    assert metrics.quadratic_weighted_kappa(matrix) == pytest.approx(0.0)


def test_kappa_of_neighbour_swaps_matches_the_hand_computation():
    # Off-diagonal cells (0,1), (1,0), (3,4), (4,3) each weigh 1/16: sum(w*O) = 4/16.
    # Both histograms are all ones, so E = 1/5 everywhere and sum(w*E) = 100/16/5 = 1.25.
    matrix = metrics.confusion_matrix([0, 1, 2, 3, 4], [1, 0, 2, 4, 3], 5)
    assert metrics.quadratic_weighted_kappa(matrix) == pytest.approx(1 - 0.25 / 1.25)


def test_kappa_of_a_reversed_prediction_is_minus_one():
    # sum(w*O) = (16 + 4 + 0 + 4 + 16) / 16 = 2.5 against sum(w*E) = 1.25.
    matrix = metrics.confusion_matrix([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], 5)
    assert metrics.quadratic_weighted_kappa(matrix) == pytest.approx(-1.0)


def test_kappa_is_undefined_when_both_sides_use_one_grade():
    assert math.isnan(metrics.quadratic_weighted_kappa(metrics.confusion_matrix([1, 1], [1, 1], 5)))


def test_per_grade_recall_and_precision_read_rows_and_columns():
    matrix = metrics.confusion_matrix([0, 0, 1, 2, 4, 4], [0, 1, 1, 4, 4, 4], 5)
    recall = metrics.per_grade_recall(matrix)
    precision = metrics.per_grade_precision(matrix)
    assert recall[:3] == [0.5, 1.0, 0.0] and math.isnan(recall[3]) and recall[4] == 1.0
    assert precision[:2] == [1.0, 0.5] and math.isnan(precision[2]) and math.isnan(precision[3])
    assert precision[4] == 2 / 3


def test_referable_sensitivity_and_specificity_split_at_grade_two():
    # Referable images (grade >= 2) predicted 2, 1, 4, 3: three of four found.
    # Healthy images predicted 0, 2: one of two kept healthy.
    matrix = metrics.confusion_matrix([0, 1, 2, 3, 4, 2], [0, 2, 2, 1, 4, 3], 5)
    assert metrics.referable_sensitivity_specificity(matrix) == (0.75, 0.5)


def test_auc_counts_a_tie_between_positive_and_negative_as_one_half():
    assert metrics.roc_auc([True, False], [0.5, 0.5]) == 0.5
    # Pairs (0.9, 0.5) (0.9, 0.1) (0.5, 0.1) win, (0.5, 0.5) ties: 3.5 of 4.
    assert metrics.roc_auc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(0.875)
    assert metrics.roc_auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.75)


def test_auc_is_undefined_with_a_single_class():
    assert math.isnan(metrics.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))


def test_referable_probability_sums_grades_two_to_four():
    probabilities = np.array([[0.5, 0.2, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 0.25, 0.75]])
    np.testing.assert_allclose(metrics.referable_probability(probabilities), [0.3, 1.0])


def test_compute_metrics_reports_every_named_metric_from_one_pass():
    labels = np.array([0, 0, 1, 2, 4, 4])
    probabilities = one_hot_probabilities([0, 1, 1, 4, 4, 4])
    values, matrix = metrics.compute_metrics(labels, probabilities)
    assert list(values) == (["Accuracy", "QuadraticWeightedKappa"] + [f"Recall_{g}" for g in range(5)]
                            + ["Mean_Recall"] + [f"Precision_{g}" for g in range(5)]
                            + ["Referable_Sensitivity", "Referable_Specificity", "Referable_AUC"]
                            + [name for name, _, _ in screening.OPERATING_POINTS] + ["Expected_Calibration_Error"])
    assert values["Accuracy"] == pytest.approx(4 / 6)
    assert values["QuadraticWeightedKappa"] == pytest.approx(metrics.quadratic_weighted_kappa(matrix))
    assert values["Referable_Sensitivity"] == 1.0 and values["Referable_Specificity"] == 1.0
    assert values["Recall_0"] == 0.5 and values["Precision_4"] == pytest.approx(2 / 3)
    # Grade 3 has no image: the mean is over grades 0, 1, 2 and 4 (recalls 0.5, 1, 0, 1).
    assert values["Mean_Recall"] == pytest.approx(2.5 / 4)
    # P(grade >= 2) is 0.3 for predicted grades 0 and 1 and 0.7 for grade 4: perfectly separated.
    assert values["Referable_AUC"] == 1.0


def test_compute_metrics_rejects_unlabelled_images():
    with pytest.raises(ValueError, match="labels must lie in"):
        metrics.compute_metrics([-1, -1], one_hot_probabilities([0, 1]))


def test_upstreams_recall_5_is_top_5_recall_and_only_reported_with_more_than_five_classes():
    probabilities = np.eye(7)[[0, 1, 2, 3, 4, 5]] * 0.5 + 0.5 / 7
    # Label 6 is the least likely class of the last image; the first five images are right.
    labels = np.array([0, 1, 2, 3, 4, 6])
    probabilities[5] = [0.3, 0.25, 0.2, 0.1, 0.08, 0.05, 0.02]
    values, _ = metrics.compute_metrics(labels, probabilities)
    assert values["Recall_5"] == pytest.approx(5 / 6)
    assert values["Accuracy"] == pytest.approx(5 / 6)
    assert "Recall_class_5" in values and "Precision_class_6" in values and "Recall_0" not in values
    assert metrics.top_k_recall(labels, probabilities, 7) == 1.0
    five_class_values, _ = metrics.compute_metrics([0, 4], np.eye(5)[[0, 1]])
    assert "Recall_5" not in five_class_values and "Recall_4" in five_class_values


def test_labels_without_dr_grades_get_the_classifier_metrics_only_with_the_same_values():
    labels = np.array([0, 0, 1, 2, 4, 4])
    probabilities = one_hot_probabilities([0, 1, 1, 4, 4, 4])
    values, matrix = metrics.compute_metrics(labels, probabilities, dr_grades=False)
    assert list(values) == (["Accuracy"] + [f"Recall_{g}" for g in range(5)] + ["Mean_Recall"]
                            + [f"Precision_{g}" for g in range(5)] + ["Expected_Calibration_Error"])
    graded, graded_matrix = metrics.compute_metrics(labels, probabilities)
    np.testing.assert_array_equal(list(values.values()), [graded[name] for name in values])  # NaNs alike
    np.testing.assert_array_equal(matrix, graded_matrix)
    ten_classes, _ = metrics.compute_metrics(np.arange(10), np.eye(10), dr_grades=False)
    assert [name for name in ten_classes if not name.startswith(("Recall_class_", "Precision_class_"))] == [
        "Accuracy", "Recall_5", "Mean_Recall", "Expected_Calibration_Error"]
