"""Kaggle's names of eye photographs: `10_left` and `10_right` are the two eyes of patient `10`.

The one rule that conversion (its split keeps a patient's eyes together), the patient figures
and the both-eye fusion of predictions read a photo's patient by.
"""

import collections

import numpy as np

EYES = ("left", "right")


def eye_patient(image_name):
    """Returns `10` for `10_left` or `10_right`; None for a name that names no eye."""
    stem, _, eye = image_name.rpartition("_")
    return stem if stem and eye in EYES else None


def patient_id(image_name):
    """Returns the patient of an eye's photo (`10` for `10_left`); any other name is its own patient."""
    return eye_patient(image_name) or image_name


def other_eye_indices(filenames):
    """Returns, per image, the index of the same patient's other eye; its own index when it has none.

    An image has a partner when exactly two images share its patient (`10_left`, `10_right`).
    """
    eyes_of_patient = collections.defaultdict(list)
    for index, name in enumerate(filenames):
        patient = eye_patient(name)
        if patient:
            eyes_of_patient[patient].append(index)
    partners = np.arange(len(filenames))
    for eyes in eyes_of_patient.values():
        if len(eyes) == 2:
            partners[eyes[0]], partners[eyes[1]] = eyes[1], eyes[0]
    return partners
