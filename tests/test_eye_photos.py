"""One patient rule for photo names: conversion's split, the patient figures and the eye fusion read it alike."""
from datasets import download_and_convert_diabetic as convert
from grading import patients
from utils import eye_photos

NAMES = ["10_left", "10_right", "a_b_left", "a_b_right", "7_left", "odd", "_left", "3_up", "10"]


def test_an_eye_photo_names_its_patient_and_any_other_name_is_its_own_patient():
    assert [eye_photos.eye_patient(name) for name in NAMES] == ["10", "10", "a_b", "a_b", "7", None, None, None,
                                                                None]
    assert [eye_photos.patient_id(name) for name in NAMES] == ["10", "10", "a_b", "a_b", "7", "odd", "_left",
                                                               "3_up", "10"]


def test_conversion_patient_figures_and_eye_fusion_group_the_same_photos():
    # A validation split of one image takes one whole patient: one of 7's or a_b's photos, or both of 10's eyes.
    splits = {frozenset(convert.split_by_patient(["10_left", "7_left", "10_right", "a_b_left"], 1, seed))
              for seed in range(8)}
    assert splits == {frozenset({"10_left", "10_right"}), frozenset({"7_left"}), frozenset({"a_b_left"})}
    patient_of, ids = patients.patient_index(NAMES)
    assert ids == ["10", "a_b", "7", "odd", "_left", "3_up"]
    assert list(patient_of) == [0, 0, 1, 1, 2, 3, 4, 5, 0]
    # Only the two eye photos of a patient are partners: `10` names patient 10 but no eye.
    assert list(eye_photos.other_eye_indices(NAMES)) == [1, 0, 3, 2, 4, 5, 6, 7, 8]
