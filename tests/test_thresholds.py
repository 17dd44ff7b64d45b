"""QWK-fitted thresholds on constructed scores: they find the best cuts, and beat rounding."""
import itertools

import numpy as np
import pytest

from grading import metrics, thresholds
from inference import model_runner
from slim_compat import tf


def kappa(labels, grades):
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, 5))


def test_thresholds_recover_a_compressed_grade_scale():
    # A regression towards the mean: grade g scores 1 + 0.4 * g (+ small noise). Rounding puts
    # every image into grades 1..3; the fitted cuts separate all five grades again.
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 30)
    scores = 1 + 0.4 * labels + rng.uniform(-0.15, 0.15, labels.size)
    rounded = kappa(labels, thresholds.apply_thresholds(scores, thresholds.rounding_thresholds(5)))
    fitted, fitted_kappa = thresholds.fit_thresholds(labels, scores, 5)
    assert fitted_kappa == pytest.approx(1.0)
    assert kappa(labels, thresholds.apply_thresholds(scores, fitted)) == pytest.approx(1.0)
    assert rounded < 0.95
    assert np.all(np.diff(fitted) > 0)
    # Each cut lies in the gap between two grades' scores.
    for grade, cut in enumerate(fitted):
        assert scores[labels == grade].max() < cut < scores[labels == grade + 1].min()


def test_fitted_thresholds_are_as_good_as_the_best_of_every_cut():
    # Overlapping grades: no cut is perfect. Brute force over every set of 4 cuts between scores.
    rng = np.random.default_rng(1)
    labels = rng.choice(5, size=28, p=[0.4, 0.15, 0.25, 0.1, 0.1])
    scores = np.round(0.6 * labels + rng.normal(0, 0.5, labels.size), 2)
    distinct = np.unique(scores)
    cuts = np.r_[distinct[0] - 1, (distinct[1:] + distinct[:-1]) / 2, distinct[-1] + 1]
    best = max(kappa(labels, thresholds.apply_thresholds(scores, chosen))
               for chosen in itertools.combinations_with_replacement(cuts, 4))
    fitted, fitted_kappa = thresholds.fit_thresholds(labels, scores, 5)
    assert fitted_kappa == pytest.approx(best)
    assert kappa(labels, thresholds.apply_thresholds(scores, fitted)) == pytest.approx(best)


def test_expected_grade_and_applying_thresholds():
    probabilities = np.array([[1, 0, 0, 0, 0], [0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 1.0]])
    np.testing.assert_allclose(thresholds.expected_grade(probabilities), [0, 1.5, 4])
    # A score equal to a threshold takes the higher grade.
    np.testing.assert_array_equal(thresholds.apply_thresholds([0.2, 0.5, 1.49, 3.6, 9], [0.5, 1.5, 2.5, 3.5]),
                                  [0, 1, 1, 4, 4])


def test_fitting_needs_two_grades():
    with pytest.raises(ValueError, match="at least two grades"):
        thresholds.fit_thresholds([2, 2, 2], [0.1, 0.5, 0.9], 5)


@pytest.mark.parametrize("cuts", [[0.5, 1.5, 2.5, 3.5], [2.7, 0.35, 1.1, 3.3]], ids=["rounding", "fitted_unsorted"])
def test_the_graph_grades_every_score_as_numpy_does(cuts):
    # Ties exactly at a cut, cuts that float32 cannot hold (0.35 rounds down, 1.1 up), scores either
    # side of them by one float32 step, and the ends of the scale.
    at_cuts = np.asarray(cuts, np.float32)
    scores = np.concatenate([at_cuts, np.nextafter(at_cuts, -np.inf), np.nextafter(at_cuts, np.inf),
                             np.asarray([-np.inf, -1.0, 0.0, 4.0, 9.0, np.inf], np.float32)])
    with tf.Graph().as_default():
        score_input = tf.placeholder(tf.float32, [None])
        graded = model_runner.graph_grades(score_input, cuts)
        with tf.Session() as session:
            in_graph = session.run(graded, {score_input: scores})
            empty = session.run(graded, {score_input: np.zeros([0], np.float32)})
    np.testing.assert_array_equal(in_graph, thresholds.apply_thresholds(scores, cuts))
    assert empty.shape == thresholds.apply_thresholds(np.zeros([0], np.float32), cuts).shape == (0,)
    # Each cut's own value takes the grade above it; a step below it stays under.
    ranks = np.argsort(np.argsort(cuts))
    np.testing.assert_array_equal(in_graph[:len(cuts)], ranks + 1)
    np.testing.assert_array_equal(in_graph[len(cuts):2 * len(cuts)], ranks)
