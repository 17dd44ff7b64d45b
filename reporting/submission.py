"""Per-image CSV files: eval's predictions file and the Kaggle submission `image,level`."""
import collections
import csv

from utils import atomic_files

SUBMISSION_HEADER = ("image", "level")


def write_predictions_csv(path, predictions):
    """Writes `image,label,prediction,prob_0..prob_{n-1}`, one row per image, atomically.

    Args:
      path: output CSV.
      predictions: a model_runner.Predictions.
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
