"""Kaggle's names of eye photographs: `10_left` and `10_right` are the two eyes of patient `10`.

The one rule that conversion (its split keeps a patient's eyes together), the patient figures
and the both-eye fusion of predictions read a photo's patient by.
"""

EYES = ("left", "right")


def eye_patient(image_name):
    """Returns `10` for `10_left` or `10_right`; None for a name that names no eye."""
    stem, _, eye = image_name.rpartition("_")
    return stem if stem and eye in EYES else None


def patient_id(image_name):
    """Returns the patient of an eye's photo (`10` for `10_left`); any other name is its own patient."""
    return eye_patient(image_name) or image_name
