"""The figures of a screening-trial report, per eye and per patient, each with its 95 % interval.

Referable means grade >= 2, or DME where the dataset labels it (operating_points.referable).
A patient's grade, score and truth are those of the worse eye. Per level:

  auc, qwk           point estimate and patient-bootstrap interval (intervals.patient_resamples)
  operating_points   sensitivity, specificity, PPV and NPV with exact intervals of the model's
                     own grades (predicted grade >= 2), of each threshold fixed on the development
                     split, and of each screening point read off this split's own ROC (the best any
                     threshold does here: descriptive, not a prospective figure)
  roc                the ROC curve of P(grade >= 2); confusion_matrix of the grades
Calibration is of the per-photo P(grade >= 2) (reliability bins, ECE) and of the grade's
probability (metrics' Expected_Calibration_Error).
"""
import dataclasses
import math

import numpy as np

from grading import intervals, metrics, operating_points, patients, screening


@dataclasses.dataclass(frozen=True)
class Units:
    """The units of one level (photos or patients): referable truth, P(referable), true and given grades."""
    truth: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    grades: np.ndarray


def rates_at(truth, refer):
    """Returns {sensitivity, specificity, ppv, npv: intervals.Estimate} of referring `refer` (bool per unit)."""
    truth, refer = np.asarray(truth, bool), np.asarray(refer, bool)
    true_positives, true_negatives = int((refer & truth).sum()), int((~refer & ~truth).sum())
    return {"sensitivity": intervals.exact_proportion(true_positives, truth.sum()),
            "specificity": intervals.exact_proportion(true_negatives, (~truth).sum()),
            "ppv": intervals.exact_proportion(true_positives, refer.sum()),
            "npv": intervals.exact_proportion(true_negatives, (~refer).sum())}


def level_units(labels, grades, probabilities, dme, patient_of, num_patients):
    """Returns {"eye": Units, "patient": Units (the worse eye's values)} of one evaluation's per-photo arrays."""
    eye = Units(operating_points.referable(labels, dme), metrics.referable_probability(probabilities),
                np.asarray(labels), np.asarray(grades))
    return {"eye": eye, "patient": Units(*(patients.worst(values, patient_of, num_patients)
                                           for values in dataclasses.astuple(eye)))}


def kappa(labels, grades, num_classes):
    """Returns the QWK of true against given grades."""
    return metrics.quadratic_weighted_kappa(metrics.confusion_matrix(labels, grades, num_classes))


def bootstrap_auc_qwk(units, patient_of, num_classes):
    """Returns {level: {"auc": Estimate, "qwk": Estimate}}, intervals from one set of patient resamples."""
    def statistics(unit, indices):
        return (metrics.roc_auc(unit.truth[indices], unit.scores[indices]),
                kappa(unit.labels[indices], unit.grades[indices], num_classes))

    replicates = {level: [] for level in units}
    for images, drawn_patients in intervals.patient_resamples(patient_of):
        for level, indices in (("eye", images), ("patient", drawn_patients)):
            replicates[level].append(statistics(units[level], indices))
    figures = {}
    for level, unit in units.items():
        values = statistics(unit, slice(None))
        samples = np.array(replicates[level]).reshape(-1, 2)
        figures[level] = {name: intervals.bootstrap_estimate(value, samples[:, column])
                          for column, (name, value) in enumerate(zip(("auc", "qwk"), values))}
    return figures


def _point(unit, refer, threshold):
    return {"threshold": threshold, **rates_at(unit.truth, refer)}


def level_operating_points(unit, development):
    """Returns the operating points of one level, each {"threshold": the P(grade >= 2) it refers from,
    "sensitivity", "specificity", "ppv", "npv": Estimates}:

      {"model_grade": predicted grade >= 2 (threshold None),
       "development": {name: the threshold `development` fixed on the development split (None: refers no one)},
       "this_split": {name: screening point read off this split's ROC}}  (empty without both classes)
    """
    points = {"model_grade": _point(unit, unit.grades >= metrics.REFERABLE_GRADE, None),
              "development": {name: _point(unit, operating_points.referred(unit.scores, threshold), threshold)
                              for name, threshold in (development or {}).items()},
              "this_split": {}}
    if unit.truth.all() or not unit.truth.any():
        return points
    for name, (_, _, threshold) in screening.screening_operating_points(unit.truth, unit.scores).items():
        threshold = threshold if math.isfinite(threshold) else None
        points["this_split"][name] = _point(unit, operating_points.referred(unit.scores, threshold), threshold)
    return points


def calibration(truth, scores, labels, probabilities):
    """Returns the per-photo calibration: reliability bins of P(grade >= 2), their ECE, and the grade's ECE."""
    counts, means, observed = screening.reliability_bins(truth, scores)
    bins = [{"low": index / len(counts), "high": (index + 1) / len(counts), "count": int(count),
             "mean_probability": float(mean), "observed": float(frequency)}
            for index, (count, mean, frequency) in enumerate(zip(counts, means, observed))]
    return {"bins": bins, "referable_ece": screening.calibration_error(counts, means, observed),
            "grade_ece": screening.expected_calibration_error(labels, probabilities)}


def roc(unit):
    """Returns the ROC curve of a level as {"fpr", "tpr", "thresholds"} lists (the first threshold is +inf)."""
    fpr, tpr, thresholds = screening.roc_curve(unit.truth, unit.scores)
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}


def compute(labels, grades, probabilities, filenames, development=None, dme=None, patient_ids=None):
    """Returns every figure of the report, per level.

    Args:
      labels, grades: [num_photos] true grades and the model's grades.
      probabilities: [num_photos, num_classes].
      filenames, patient_ids: photo ids and the dataset's patient ids or None (patients.patient_index).
      development: operating_points' record fixed on the development split, or None.
      dme: [num_photos] DME grades (0 none, above 0 some, -1 not graded) or None.

    Returns:
      {"referable": its definition, "eye": {...}, "patient": {...}, "calibration": {...}}, each level with
      "units", "referable", "auc", "qwk" (Estimates), "operating_points", "roc", "confusion_matrix".
    """
    labels, grades = np.asarray(labels, np.int64), np.asarray(grades, np.int64)
    probabilities = np.asarray(probabilities, np.float64)
    num_classes = probabilities.shape[1]
    patient_of, ids = patients.patient_index(filenames, patient_ids)
    units = level_units(labels, grades, probabilities, dme, patient_of, len(ids))
    spread = bootstrap_auc_qwk(units, patient_of, num_classes)
    figures = {"referable": operating_points.definition(dme)}
    for level, unit in units.items():
        figures[level] = {"units": int(unit.truth.size), "referable": int(unit.truth.sum()), **spread[level],
                          "operating_points": level_operating_points(unit, (development or {}).get(level)),
                          "roc": roc(unit),
                          "confusion_matrix": metrics.confusion_matrix(unit.labels, unit.grades, num_classes).tolist()}
    eye = units["eye"]
    figures["calibration"] = calibration(eye.truth, eye.scores, labels, probabilities)
    return figures
