"""Cross-fitted grading: an honest figure for thresholds and fusions fitted on the split they grade."""
import numpy as np

from grading import fitting, metrics
from inference import model_runner
from utils import model_description


def predictions_of(labels, scores, names):
    probabilities = np.eye(5)[np.zeros(len(labels), dtype=int)]  # the softmax says 0 for all
    return model_runner.Predictions(filenames=names, labels=np.asarray(labels), probabilities=probabilities,
                                    scores=np.asarray(scores, dtype=float), thresholds=(0.5, 1.5, 2.5, 3.5))


def test_patient_folds_keep_both_eyes_together_and_halve_the_patients():
    names = [f"{patient}_{eye}" for patient in range(10, 30) for eye in ("left", "right")] + ["99_left"]
    first, second = fitting.patient_folds(names)
    assert sorted(np.concatenate([first, second]).tolist()) == list(range(len(names)))
    for fold in (first, second):
        patients = {names[index].split("_")[0] for index in fold}
        assert all(f"{patient}_right" in [names[i] for i in fold] for patient in patients if patient != "99")
    assert abs(len(first) - len(second)) <= 2


def test_thresholds_fitted_on_one_half_grade_the_other():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2, 3, 4], 8)
    # A score that is the grade plus 0.7: rounding is one grade too high, a fitted cut is right.
    scores = labels + 0.7 + rng.uniform(-0.1, 0.1, labels.size)
    names = [f"{10 + index // 2}_{'left' if index % 2 == 0 else 'right'}" for index in range(labels.size)]
    predictions = predictions_of(labels, scores, names)
    assert np.mean(predictions.grades == labels) == 0.2  # only grade 4, the top, is right
    np.testing.assert_array_equal(fitting.cross_fitted_threshold_grades(predictions, 5), labels)


def test_a_fold_that_cannot_be_fitted_keeps_the_models_own_grades():
    # Every patient of the first fold (10, 12, ...) has grade 0: nothing to fit there for the second.
    labels = np.array([0, 0, 3, 3, 0, 0, 4, 4])
    names = ["10_left", "10_right", "11_left", "11_right", "12_left", "12_right", "13_left", "13_right"]
    predictions = predictions_of(labels, labels + 0.7, names)
    grades = fitting.cross_fitted_threshold_grades(predictions, 5)
    np.testing.assert_array_equal(grades[[2, 3, 6, 7]], predictions.grades[[2, 3, 6, 7]])


def test_eval_figures_include_cross_fitted_variants_only_when_the_grading_was_fitted_here():
    labels = np.repeat([0, 1, 2, 3, 4], 4)
    names = [f"{10 + index // 2}_{'left' if index % 2 == 0 else 'right'}" for index in range(labels.size)]
    predictions = predictions_of(labels, labels + 0.3, names)
    fitted = model_description.FittedGrading((0.5, 1.5, 2.5, 3.5))
    fitted_here = fitting.grading_variants(predictions, 5, fitted, regression=True, cross_fit=True)
    assert fitted_here["QuadraticWeightedKappa_Thresholds_CrossFitted"] == 1.0
    assert "Mean_Recall_EyeFusion_CrossFitted" in fitted_here
    assert fitted_here["QuadraticWeightedKappa_Softmax"] == 0.0
    assert not {name for name in fitting.grading_variants(predictions, 5, fitted, regression=True)
                if "CrossFitted" in name}


def test_the_regression_variant_rounds_as_the_models_own_grades_do():
    # Halves round up at the model's cuts (0.5, 1.5, ...): 2.5 is grade 3, not 2 as round-half-to-even says.
    labels = np.array([0, 1, 2, 3, 4, 2])
    scores = np.array([0.2, 1.5, 2.5, 3.49, 9.0, -1.0])
    predictions = predictions_of(labels, scores, [f"{10 + index}_left" for index in range(labels.size)])
    np.testing.assert_array_equal(predictions.grades, [0, 2, 3, 3, 4, 0])
    values = fitting.grading_variants(predictions, 5, None, regression=True)
    matrix = metrics.confusion_matrix(labels, predictions.grades, 5)
    assert values["QuadraticWeightedKappa_Regression"] == metrics.quadratic_weighted_kappa(matrix)
    assert values["Mean_Recall_Regression"] == metrics.mean_recall(metrics.per_grade_recall(matrix))
