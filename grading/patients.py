"""Per-patient figures from per-photo ones: a patient is referable when the worse eye is (worst-eye rule).

Photos are grouped by the patient the dataset names (its `patient` item) or else by the
conversion's rule (utils.eye_photos: `10_left`, `10_right` -> patient `10`; any other name is
its own patient), as the split keeps a patient's photos together.
"""
import numpy as np

from utils import eye_photos


def patient_index(filenames, patient_ids=None):
    """Returns (patient index 0..P-1 of each photo, the P patient ids in order of first appearance).

    `patient_ids` (one per photo, "" where unknown) name the patients; by default each photo's name does.
    """
    ids, patient_of = {}, []
    for name, patient in zip(filenames, patient_ids if patient_ids is not None else [""] * len(filenames)):
        patient_of.append(ids.setdefault(patient or eye_photos.patient_id(name), len(ids)))
    return np.array(patient_of, dtype=np.int64), list(ids)


def worst(values, patient_of, num_patients):
    """Returns the per-patient maximum of per-photo `values` (grade, score, referable flag), in their dtype."""
    values = np.asarray(values)
    result = np.full(num_patients, -np.inf)
    np.maximum.at(result, patient_of, values.astype(np.float64))
    return result.astype(values.dtype)
