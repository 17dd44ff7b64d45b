"""Referable-DR operating points fixed on the development split, to be judged on any other.

A screening trial fixes its threshold before it sees the test data. `fit` reads the
thresholds of screening.OPERATING_POINTS (e.g. the highest sensitivity at specificity
>= 0.90) off the development split's ROC of P(grade >= 2), per eye and per patient
(a patient's score is the worse eye's), and `eval --fit_grading` records them in the
model's grading (grading.GRADING, under RECORD_KEY):

  {"score": "P(grade >= 2)", "referable": "grade >= 2" | "grade >= 2 or DME",
   "source": the development split, "eye": {point name: threshold},
   "patient": {point name: threshold}}

A threshold of None refers no one (no threshold met the constraint on the development split).
"""
import math

import numpy as np

from grading import metrics, patients, screening
from utils import run_settings

RECORD_KEY = run_settings.OPERATING_POINTS
SCORE = f"P(grade >= {metrics.REFERABLE_GRADE})"
LEVELS = ("eye", "patient")


def referable(labels, dme=None):
    """Returns the per-photo referable truth: grade >= 2, or DME where `dme` grades it (above 0; 0 none,
    -1 not graded: datasets.dataset_utils' `dme` item)."""
    truth = np.asarray(labels) >= metrics.REFERABLE_GRADE
    return truth if dme is None else truth | (np.asarray(dme) > 0)


def definition(dme=None):
    """Returns the words of the referable definition `referable` applies."""
    grade = f"grade >= {metrics.REFERABLE_GRADE}"
    return grade if dme is None or not np.any(np.asarray(dme) >= 0) else f"{grade} or DME"


def referred(scores, threshold):
    """Returns which units a recorded `threshold` refers: score >= threshold; none when it is None."""
    scores = np.asarray(scores)
    return np.zeros(scores.shape, bool) if threshold is None else scores >= threshold


def fit(labels, probabilities, filenames, source, dme=None, patient_ids=None):
    """Returns the RECORD_KEY record of labelled development predictions.

    A level whose units are all referable or all not (e.g. every patient has one referable eye)
    has no ROC and no entry.

    Raises:
      ValueError: the split lacks referable or non-referable photos.
    """
    truth = referable(labels, dme)
    if truth.all() or not truth.any():
        raise ValueError("the split needs referable and non-referable photos to fix operating points")
    patient_of, ids = patients.patient_index(filenames, patient_ids)
    scores = metrics.referable_probability(probabilities)
    record = {"score": SCORE, "referable": definition(dme), "source": source}
    for level in LEVELS:
        level_truth, level_scores = (truth, scores) if level == "eye" else (
            patients.worst(truth, patient_of, len(ids)), patients.worst(scores, patient_of, len(ids)))
        if level_truth.all() or not level_truth.any():
            continue
        points = screening.screening_operating_points(level_truth, level_scores)
        record[level] = {name: threshold if math.isfinite(threshold) else None
                         for name, (_, _, threshold) in points.items()}
    return record
