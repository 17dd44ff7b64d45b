"""Two-eye fusion on constructed patients: fitted on one set, it beats either eye alone on another."""
import numpy as np
import pytest

from grading import eye_fusion, metrics, thresholds
from utils import eye_photos


def constructed_patients(num_patients, seed):
    """Both eyes share the patient's grade (one grade apart for 20 %); each eye's score is its grade + noise."""
    rng = np.random.default_rng(seed)
    patient_grades = rng.choice(5, size=num_patients, p=[0.45, 0.15, 0.2, 0.1, 0.1])
    filenames, labels = [], []
    for patient, grade in enumerate(patient_grades):
        shift = rng.choice([-1, 1]) if rng.random() < 0.2 else 0
        for side, eye_grade in (("left", grade), ("right", int(np.clip(grade + shift, 0, 4)))):
            filenames.append(f"{patient}_{side}")
            labels.append(eye_grade)
    labels = np.array(labels)
    return filenames, labels, labels + rng.normal(0, 0.9, labels.size)


def kappa(labels, grades):
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, 5))


def test_fusion_fitted_on_validation_beats_either_eye_alone_on_new_patients():
    fit_names, fit_labels, fit_scores = constructed_patients(400, seed=0)
    test_names, test_labels, test_scores = constructed_patients(400, seed=1)
    fusion = eye_fusion.fit_fusion(fit_labels, fit_scores, fit_names, 5)
    bias, own, other = fusion["weights"]
    assert own > 0 and other > 0  # both eyes carry evidence
    single_eye_cuts, _ = thresholds.fit_thresholds(fit_labels, fit_scores, 5)
    fused = eye_fusion.fused_grades(test_scores, test_names, fusion)
    alone = thresholds.apply_thresholds(test_scores, single_eye_cuts)
    for side in ("left", "right"):
        eyes = np.array([name.endswith(side) for name in test_names])
        fused_kappa, alone_kappa = kappa(test_labels[eyes], fused[eyes]), kappa(test_labels[eyes], alone[eyes])
        assert fused_kappa > alone_kappa + 0.03, (side, fused_kappa, alone_kappa)


def test_an_eye_without_partner_is_its_own_other_eye():
    names = ["1_left", "1_right", "2_left", "scan"]
    np.testing.assert_array_equal(eye_photos.other_eye_indices(names), [1, 0, 2, 3])
    weights = [0.5, 0.6, 0.4]
    np.testing.assert_allclose(eye_fusion.fused_scores([1.0, 3.0, 2.0, 4.0], names, weights),
                               [0.5 + 0.6 + 1.2, 0.5 + 1.8 + 0.4, 0.5 + 2.0, 0.5 + 4.0])


def test_fitting_needs_pairs_of_eyes():
    with pytest.raises(ValueError, match="other eye"):
        eye_fusion.fit_fusion([0, 1, 2], [0.1, 1.2, 2.0], ["a", "b", "c"], 5)
