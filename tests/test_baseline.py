"""The majority-class baseline and the validation summary read from eval's predictions CSVs."""
import csv

import numpy as np
import pytest

from reporting import baseline


def write_predictions(path, labels, probabilities, grades=None):
    """Writes a file in eval's --predictions_file layout (`grades`: the prediction column, default the argmax)."""
    grades = np.argmax(probabilities, axis=1) if grades is None else grades
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "prediction"] + [f"prob_{grade}" for grade in range(5)])
        for index, (label, grade, row) in enumerate(zip(labels, grades, probabilities)):
            writer.writerow([f"{index}_left", label, int(grade)] + [f"{p:.6f}" for p in row])


def test_majority_baseline_predicts_the_most_common_training_grade():
    values = baseline.majority_baseline_metrics([5, 1, 9, 0, 2], np.array([2, 2, 0, 4]))
    assert values["Accuracy"] == 0.5
    assert values["QuadraticWeightedKappa"] == 0.0
    assert values["Referable_AUC"] == 0.5


def test_summary_puts_baseline_first_and_scores_each_model(tmp_path):
    labels = [0, 1, 2, 3, 4, 0]
    write_predictions(tmp_path / "perfect.csv", labels, np.eye(5)[labels])
    write_predictions(tmp_path / "constant.csv", labels, np.tile(np.eye(5)[4], (6, 1)))
    rows = baseline.summary_rows([3, 0, 0, 0, 1], [("perfect", tmp_path / "perfect.csv"),
                                                   ("constant", tmp_path / "constant.csv")])
    assert [name for name, _ in rows] == [baseline.BASELINE_NAME, "perfect", "constant"]
    assert rows[0][1]["Accuracy"] == pytest.approx(2 / 6)
    assert rows[1][1]["QuadraticWeightedKappa"] == 1.0 and rows[2][1]["QuadraticWeightedKappa"] == 0.0
    # The baseline finds grade 0 only: mean recall 1/5; the constant grade-4 model grade 4 only.
    assert rows[0][1]["Mean_Recall"] == pytest.approx(0.2) and rows[2][1]["Mean_Recall"] == pytest.approx(0.2)
    table = baseline.format_summary(rows).splitlines()
    assert table[0].split() == list(baseline.SHOWN_METRICS)
    assert table[2].split() == ["perfect", "1.000", "1.000", "1.000", "1.000"]


def test_summary_scores_the_grades_the_model_gave_not_the_argmax(tmp_path):
    # A regression model's grades (the prediction column) are right; its softmax's argmax says 0 for all.
    labels = [0, 1, 2, 3, 4, 0]
    write_predictions(tmp_path / "graded.csv", labels, np.tile([0.6, 0.1, 0.1, 0.1, 0.1], (6, 1)), grades=labels)
    _, graded = baseline.summary_rows([3, 0, 0, 0, 1], [("graded", tmp_path / "graded.csv")])
    assert graded[1]["QuadraticWeightedKappa"] == 1.0 and graded[1]["Mean_Recall"] == 1.0


def test_predictions_of_different_images_are_refused(tmp_path):
    write_predictions(tmp_path / "a.csv", [0, 1], np.eye(5)[[0, 1]])
    write_predictions(tmp_path / "b.csv", [1, 1], np.eye(5)[[0, 1]])
    with pytest.raises(ValueError, match="b.csv: its images differ"):
        baseline.summary_rows([1, 0, 0, 0, 0], [("a", tmp_path / "a.csv"), ("b", tmp_path / "b.csv")])


def test_malformed_predictions_file_is_named_with_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("image,label,prediction,prob_0,prob_1\n1_left,0,0,0.9,0.1\n1_right,x,0,0.9,0.1\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: malformed row"):
        baseline.read_predictions_csv(str(path))
    (tmp_path / "other.csv").write_text("image,level\n1_left,0\n")
    with pytest.raises(ValueError, match="other.csv: not an eval predictions file"):
        baseline.read_predictions_csv(str(tmp_path / "other.csv"))


def test_summary_of_a_dataset_without_dr_grades_shows_no_kappa_or_referable_column(tmp_path):
    labels = [0, 1, 2, 0]
    write_predictions(tmp_path / "perfect.csv", labels, np.eye(5)[labels])
    rows = baseline.summary_rows([3, 1, 1, 0, 0], [("perfect", tmp_path / "perfect.csv")], dr_grades=False)
    assert not [name for name in rows[0][1] if "Kappa" in name or name.startswith("Referable")]
    table = baseline.format_summary(rows).splitlines()
    assert table[0].split() == ["Mean_Recall", "Accuracy"]
    assert table[1].split()[-2:] == ["0.333", "0.500"] and table[2].split() == ["perfect", "1.000", "1.000"]


def test_grades_less_accurate_than_the_majority_grade_get_a_loud_warning():
    labels = np.array([0] * 8 + [1, 2])
    shifted = np.array([1] * 6 + [0] * 2 + [1, 2])  # ordered well, but six healthy eyes called grade 1
    line = baseline.below_majority_warning("trained model", labels, shifted, majority_grade=0)
    assert line.startswith("WARNING: trained model: accuracy 0.400 is BELOW the majority-class baseline's 0.800")
    assert "of 8 grade-0 images, 6 graded higher" in line
    assert baseline.below_majority_warning("trained model", labels, labels, majority_grade=0) is None
    # As accurate as the constant is not below it.
    assert baseline.below_majority_warning("m", labels, np.zeros(10, int), majority_grade=0) is None


@pytest.mark.slow
@pytest.mark.parametrize("command", ["reporting.baseline", "evaluation.baseline"])  # and its former name
def test_summary_prints_the_warning_for_the_models_it_checks(tmp_path, tiny_diabetic_dir, command):
    import os
    import subprocess
    import sys
    labels = [0] * 8 + [1, 2]  # the tiny train split's most common grade is 0
    probabilities = np.eye(5)[labels]
    write_predictions(tmp_path / "shifted.csv", labels, probabilities, grades=[1] * 8 + [1, 2])
    write_predictions(tmp_path / "untrained.csv", labels, probabilities, grades=[4] * 10)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-m", command, f"--dataset_dir={tiny_diabetic_dir}",
                             f"--predictions=untrained model={tmp_path / 'untrained.csv'}",
                             f"--predictions=trained model={tmp_path / 'shifted.csv'}",
                             "--warn_below_baseline=trained model"], cwd=repo, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING: trained model: accuracy 0.200 is BELOW")
