"""Screening operating points and calibration error against hand-counted and brute-force answers."""
import itertools
import math

import numpy as np
import pytest

from grading import metrics, screening


def brute_force_points(labels, scores):
    """Every "score >= t" rule for t over the scores and +inf: [(sensitivity, specificity)]."""
    labels = np.asarray(labels, bool)
    rules = []
    for threshold in itertools.chain([np.inf], scores):
        referred = np.asarray(scores) >= threshold
        rules.append(((referred & labels).sum() / labels.sum(), (~referred & ~labels).sum() / (~labels).sum()))
    return rules


def test_operating_points_on_a_hand_counted_case():
    # Ten healthy eyes score 0..9, ten referable ones 5..14: scores 5..9 overlap.
    scores = np.r_[np.arange(10), np.arange(5, 15)].astype(float)
    labels = np.r_[np.zeros(10), np.ones(10)]
    points = screening.screening_operating_points(labels, scores)
    # Specificity >= 0.9 allows one healthy eye above the threshold: t = 9 refers 9..14, six of ten.
    assert points["Referable_Sensitivity_at_Specificity90"] == pytest.approx((0.6, 0.9, 9.0))
    # Specificity >= 0.95 allows none: t = 10 refers five of ten.
    assert points["Referable_Sensitivity_at_Specificity95"] == pytest.approx((0.5, 1.0, 10.0))
    # Sensitivity >= 0.9 needs nine referable eyes: t = 6 refers healthy 6..9 too (specificity 0.6).
    assert points["Referable_Specificity_at_Sensitivity90"] == pytest.approx((0.9, 0.6, 6.0))
    # Sensitivity >= 0.975 needs all ten: t = 5, specificity 0.5.
    assert points["Referable_Specificity_at_Sensitivity975"] == pytest.approx((1.0, 0.5, 5.0))


def test_operating_points_are_the_best_rule_at_each_constraint():
    rng = np.random.default_rng(3)
    labels = rng.random(200) < 0.3
    scores = np.round(rng.normal(labels * 1.2, 1.0), 1)  # rounded: many ties
    rules = brute_force_points(labels, scores)
    points = screening.screening_operating_points(labels, scores)
    for name, constrained, minimum in screening.OPERATING_POINTS:
        if constrained == "specificity":
            best = max(sensitivity for sensitivity, specificity in rules if specificity >= minimum)
            assert points[name][0] == pytest.approx(best)
        else:
            best = max(specificity for sensitivity, specificity in rules if sensitivity >= minimum)
            assert points[name][1] == pytest.approx(best)
        sensitivity, specificity, threshold = points[name]
        referred = scores >= threshold
        assert sensitivity == pytest.approx((referred & labels).sum() / labels.sum())
        assert specificity == pytest.approx((~referred & ~labels).sum() / (~labels).sum())


def test_roc_curve_area_matches_the_rank_statistic():
    rng = np.random.default_rng(4)
    labels = rng.random(300) < 0.4
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)
    fpr, tpr, thresholds = screening.roc_curve(labels, scores)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and np.all(np.diff(thresholds) < 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc(labels, scores))


def test_operating_points_are_nan_with_one_class():
    points = screening.screening_operating_points([0, 0, 0], [0.1, 0.2, 0.3])
    assert all(math.isnan(value) for point in points.values() for value in point)


def test_expected_calibration_error():
    # Confidence 0.8 in both images of one bin, one right: |0.5 - 0.8| = 0.3.
    probabilities = np.array([[0.8, 0.2, 0, 0, 0], [0.8, 0.2, 0, 0, 0]])
    assert screening.expected_calibration_error([0, 1], probabilities) == pytest.approx(0.3)
    # Confident and right everywhere: 0; confident and always wrong: 1.
    certain = np.eye(5)[[0, 1, 2, 3, 4]]
    assert screening.expected_calibration_error([0, 1, 2, 3, 4], certain) == pytest.approx(0.0)
    assert screening.expected_calibration_error([1, 2, 3, 4, 0], certain) == pytest.approx(1.0)
    # Bins are weighed by their images: 3 right at 0.95 (gap 0.05) and one wrong at 0.45 (gap 0.45).
    mixed = np.array([[0.95, 0.05, 0, 0, 0]] * 3 + [[0.45, 0.35, 0.2, 0, 0]])
    assert screening.expected_calibration_error([0, 0, 0, 1], mixed) == pytest.approx((3 * 0.05 + 0.45) / 4)
