"""The report's 95 % intervals are honest: drawn many times from a known truth, they cover it about 95 % of the time."""
import math

import numpy as np
import pytest
from scipy import stats

from grading import intervals, metrics
from reporting import trial_figures

STUDIES = 2000


def test_exact_interval_matches_known_values_and_edges():
    # Clopper-Pearson for 0/10 and 10/10 has the closed form 1 - 0.025 ** (1 / 10).
    assert intervals.exact_proportion(0, 10).high == pytest.approx(1 - 0.025 ** 0.1)
    assert intervals.exact_proportion(10, 10).low == pytest.approx(0.025 ** 0.1)
    estimate = intervals.exact_proportion(7, 20)
    assert (estimate.low, estimate.high) == pytest.approx((0.1539092, 0.5921885), abs=1e-6)
    assert estimate.text() == "0.350 (0.154-0.592, 7/20)"
    assert math.isnan(intervals.exact_proportion(0, 0).value)
    assert intervals.exact_proportion(0, 0).as_dict() == {"estimate": None, "low": None, "high": None,
                                                          "successes": 0, "total": 0}


@pytest.mark.parametrize("sensitivity, specificity, prevalence, eyes", [
    (0.87, 0.91, 0.3, 200), (0.95, 0.6, 0.1, 400), (0.5, 0.98, 0.5, 60)])
def test_sensitivity_and_specificity_intervals_cover_the_truth_95_percent_of_the_time(sensitivity, specificity,
                                                                                      prevalence, eyes):
    rng = np.random.default_rng(1)
    covered = {"sensitivity": 0, "specificity": 0}
    for _ in range(STUDIES):
        truth = rng.random(eyes) < prevalence
        refer = np.where(truth, rng.random(eyes) < sensitivity, rng.random(eyes) >= specificity)
        rates = trial_figures.rates_at(truth, refer)
        for name, true_value in (("sensitivity", sensitivity), ("specificity", specificity)):
            covered[name] += rates[name].low <= true_value <= rates[name].high
    for name, count in covered.items():
        # Exact intervals are conservative: at least 95 %, and not much more at these sizes.
        assert 0.94 <= count / STUDIES <= 0.995, (name, count / STUDIES)


def correlated_eyes(rng, patients, separation, correlation, prevalence=0.35):
    """Two eyes per patient sharing the patient's referable state; each eye's score is N(separation * state, 1),
    the two eyes correlated by `correlation` through a patient effect. The true per-eye AUC is
    Phi(separation / sqrt(2))."""
    state = np.repeat(rng.random(patients) < prevalence, 2)
    shared = np.repeat(rng.normal(size=patients), 2)
    scores = separation * state + math.sqrt(correlation) * shared + math.sqrt(1 - correlation) * rng.normal(
        size=2 * patients)
    return state, scores, np.repeat(np.arange(patients), 2)


@pytest.mark.slow
def test_patient_bootstrap_auc_interval_covers_the_true_auc_about_95_percent_of_the_time():
    separation, studies = 1.5, 200
    true_auc = stats.norm.cdf(separation / math.sqrt(2))
    rng = np.random.default_rng(2)
    covered = 0
    for study in range(studies):
        truth, scores, patient_of = correlated_eyes(rng, 60, separation, correlation=0.7)
        replicates = [metrics.roc_auc(truth[images], scores[images])
                      for images, _ in intervals.patient_resamples(patient_of, num_resamples=200, seed=study)]
        estimate = intervals.bootstrap_estimate(metrics.roc_auc(truth, scores), replicates)
        assert estimate.low <= estimate.value <= estimate.high
        covered += estimate.low <= true_auc <= estimate.high
    # Percentile intervals run a little short on small samples; "about 95 %".
    assert 0.88 <= covered / studies <= 0.99, covered / studies


def test_patient_resamples_keep_both_eyes_together_and_are_reproducible():
    patient_of = np.array([0, 0, 1, 2, 2, 3])
    first = list(intervals.patient_resamples(patient_of, num_resamples=20, seed=5))
    again = list(intervals.patient_resamples(patient_of, num_resamples=20, seed=5))
    for (images, patients), (images_again, _) in zip(first, again):
        np.testing.assert_array_equal(images, images_again)
        assert len(patients) == 4
        assert sorted(patient_of[images]) == sorted(np.repeat(patients, np.bincount(patient_of)[patients]))


def test_bootstrap_interval_always_contains_its_estimate():
    assert intervals.bootstrap_estimate(0.9, [0.5, 0.6, 0.7]).high == 0.9
    assert intervals.bootstrap_estimate(0.1, [0.5, float("nan"), 0.7]).low == 0.1
    assert math.isnan(intervals.bootstrap_estimate(0.5, [float("nan")]).low)
