"""Per-image CSV files: eval's predictions file and the Kaggle submission, plus both-eye fusion.

Kaggle images are named `{patient}_{left|right}`; the two eyes of a patient tend to
have similar grades, so top entries let each eye's prediction borrow from the other's.
"""
import collections
import csv

import numpy as np

from utils import atomic_files, eye_photos

SUBMISSION_HEADER = ("image", "level")
DEFAULT_OTHER_EYE_WEIGHT = 0.25


def write_predictions_csv(path, predictions):
    """Writes `image,label,prediction,prob_0..prob_{n-1}`, one row per image, atomically.

    Args:
      path: output CSV.
      predictions: an evaluator.Predictions.
    """
    num_classes = predictions.probabilities.shape[1]
    with atomic_files.open_atomically(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "prediction"] + [f"prob_{grade}" for grade in range(num_classes)])
        for filename, label, grade, probabilities in zip(predictions.filenames, predictions.labels,
                                                          predictions.grades, predictions.probabilities):
            writer.writerow([filename, int(label), int(grade)] + [f"{p:.6f}" for p in probabilities])


def _check_unique(filenames):
    duplicates = sorted(name for name, count in collections.Counter(filenames).items() if count > 1)
    if duplicates:
        raise ValueError(f"images listed more than once: {', '.join(duplicates[:5])}")


def write_submission_csv(path, filenames, grades):
    """Writes a Kaggle submission `image,level`, one row per image, atomically.

    Raises:
      ValueError: an image id is empty or appears twice (Kaggle rejects such a file).
    """
    if any(not name for name in filenames):
        raise ValueError("an image has no id (TFRecords written without image/filename?)")
    _check_unique(filenames)
    with atomic_files.open_atomically(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUBMISSION_HEADER)
        writer.writerows((name, int(grade)) for name, grade in zip(filenames, grades))


def combine_eyes(filenames, probabilities, other_eye_weight=DEFAULT_OTHER_EYE_WEIGHT):
    """Mixes each eye's probabilities with those of the same patient's other eye.

    Args:
      filenames: image ids such as `10_left`.
      probabilities: [num_images, num_classes].
      other_eye_weight: share of the other eye in the result; 0 changes nothing, 0.5 gives
        both eyes the patient's mean.

    Returns:
      New [num_images, num_classes] probabilities; images without a partner are unchanged.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return (1 - other_eye_weight) * probabilities + other_eye_weight * probabilities[other_eye_indices(filenames)]


def other_eye_indices(filenames):
    """Returns, per image, the index of the same patient's other eye; its own index when it has none.

    An image has a partner when exactly two images share its patient (`10_left`, `10_right`).
    """
    eyes_of_patient = collections.defaultdict(list)
    for index, name in enumerate(filenames):
        patient = eye_photos.eye_patient(name)
        if patient:
            eyes_of_patient[patient].append(index)
    partners = np.arange(len(filenames))
    for eyes in eyes_of_patient.values():
        if len(eyes) == 2:
            partners[eyes[0]], partners[eyes[1]] = eyes[1], eyes[0]
    return partners
