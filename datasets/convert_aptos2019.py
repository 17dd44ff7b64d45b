"""Converts APTOS 2019 Blindness Detection (Kaggle) from the folder its download unpacks into.

Input, in `dataset_dir`: `train.csv` (`id_code,diagnosis`, ICDR grades 0-4), `train_images/ID.png`
and, optionally, `test_images/ID.png` (its public test set, whose labels were never published).
Output, as datasets.fundus_conversion writes it: the `train` split (every labelled photo: APTOS has
no validation split of its own) and the blind `test` split (label -1). APTOS names no patients.
"""
import functools
import os

from datasets import fundus_conversion, grade_tables, listed_photos, public_dr

LABELS_CSV = "train.csv"
TRAIN_FOLDER = "train_images"
TEST_FOLDER = "test_images"
IMAGE_EXTENSION = ".png"
LAYOUT = fundus_conversion.Layout(public_dr.APTOS2019.name, public_dr.APTOS2019.splits)


def _row(values):
    name, diagnosis = values
    return listed_photos.Listed(name, "train", grade_tables.grade(diagnosis, "diagnosis"))


def plan(dataset_dir, report, processed):
    """Returns the Jobs of an APTOS 2019 folder (fundus_conversion.run's `plan`)."""
    path = os.path.join(dataset_dir, LABELS_CSV)
    rows = grade_tables.read_csv(path, ("id_code", "diagnosis"), report, f"APTOS 2019's {LABELS_CSV}")
    listed = listed_photos.listed_rows(rows, path, report, _row)
    found = fundus_conversion.locate(os.path.join(dataset_dir, TRAIN_FOLDER), [item.name for item in listed],
                                     report, LABELS_CSV, IMAGE_EXTENSION)
    return (listed_photos.listed_jobs(processed, listed, found)
            + listed_photos.blind_jobs(processed, "test", os.path.join(dataset_dir, TEST_FOLDER), report))


def run(dataset_dir, **options):
    """Converts an APTOS 2019 folder; `options` are fundus_conversion.run's. Returns the exit status."""
    return fundus_conversion.run(dataset_dir, LAYOUT, functools.partial(plan, dataset_dir), **options)
