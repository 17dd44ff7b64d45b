"""Converts Kaggle's diabetic-retinopathy photographs into the book's TFRecords.

Input, in `dataset_dir`: `trainLabels.csv` (`image,level`), `train/NAME.jpeg`, optionally Kaggle's
`test/NAME.jpeg` and, beside them, the solution Kaggle published for its test photos,
`retinopathy_solution.csv` (`image,level,Usage`, Usage `Public` or `Private`: the public and the
private leaderboard's part). Output, as datasets.fundus_conversion writes it:

  processed_images/{train,validation}/{grade}/NAME.jpeg and the test photos, blind in
  processed_images/test/unlabelled/NAME.jpeg, or with the solution in
  processed_images/test_{public,private}/{grade}/NAME.jpeg: cropped, 299x299, JPEG quality 95;
  tfrecords/diabetic_{split}_{i:05d}-of-{n:05d}.tfrecord, labels.txt, split_sizes.txt: splits train,
  validation and either test (blind, label -1) or test_public and test_private (datasets.diabetic
  reads `test` as the two together); `image/patient` is the Kaggle patient (`10` of `10_left`);
  processed_images/conversion_records.jsonl, tfrecords/conversion.json, quality.csv and
  conversion_report.txt (one line per problem found).

An image that a labels file lists with two grades goes into no split (datasets.label_rows).
The split is by patient (`10_left` and `10_right` on the same side). An image
already processed from the same source file with the same settings is kept, so
a killed run resumes where it stopped; any other is processed again. The
TFRecords are rewritten only when what they would hold changed.
"""
import functools
import os
import random

from absl import logging

from datasets import diabetic, fundus_conversion, grade_tables, listed_photos
# The conversion's outputs, by the names its readers know them by here.
from datasets.fundus_conversion import (PROCESSED_DIR, QUALITY_FILENAME, REPORT_FILENAME,  # noqa: F401
                                        TFRECORDS_DIR, read_conversion)
from utils import eye_photos

LABELS_CSV = "trainLabels.csv"
SOLUTION_CSV = "retinopathy_solution.csv"
# Kaggle's Usage of a test photo -> its split.
USAGE_SPLITS = {"Public": "test_public", "Private": "test_private"}
IMAGE_EXTENSION = ".jpeg"
DEFAULT_VALIDATION_SIZE = 5126
LAYOUT = fundus_conversion.Layout(diabetic.NAME_PREFIX, diabetic.SPLITS)
Listed = listed_photos.Listed


def read_labels(csv_path, report):
    """Reads Kaggle's `image,level` file; bad rows are reported and skipped.

    An image listed twice with one grade is kept once (a warning); with two grades, neither row is
    kept (an error naming both) and the image is added to `report.refused`.

    Returns:
      [(image name, grade)] in file order.

    Raises:
      ValueError: the file is missing or its header lacks `image,level`.
    """
    rows = grade_tables.read_csv(csv_path, ("image", "level"), report, f"Kaggle's {LABELS_CSV}")
    listed = listed_photos.listed_rows(rows, csv_path, report,
                                       lambda values: Listed(values[0], None, grade_tables.grade(values[1], "level")))
    return [(item.name, item.grade) for item in listed]


def _solution_row(values):
    name, level, usage = values
    if usage not in USAGE_SPLITS:
        raise ValueError(f"Usage {usage!r} is not {' or '.join(USAGE_SPLITS)}")
    return Listed(name, USAGE_SPLITS[usage], grade_tables.grade(level, "level"))


def read_solution(csv_path, report):
    """Reads Kaggle's `image,level,Usage` solution of its test photos, as read_labels reads trainLabels.csv.

    Returns:
      [Listed] in file order, each in the USAGE_SPLITS split of its Usage.

    Raises:
      ValueError: the file's header lacks `image,level,Usage`.
    """
    rows = grade_tables.read_csv(csv_path, ("image", "level", "Usage"), report, f"Kaggle's {SOLUTION_CSV}")
    return listed_photos.listed_rows(rows, csv_path, report, _solution_row)


def split_by_patient(image_names, validation_size, seed, grades=None):
    """Puts whole patients into validation until it holds at least `validation_size` images.

    With `grades` ({image name: grade}) the split is stratified by each patient's worst
    grade: validation takes every grade's patients in proportion to their number, so on a
    small or skewed set the rare severe grades land in both splits, not by chance in one.

    Returns:
      The set of validation image names; the same names, grades and seed give the same set.
    """
    patients = {}
    for name in image_names:
        patients.setdefault(eye_photos.patient_id(name), []).append(name)
    order = sorted(patients)
    random.Random(seed).shuffle(order)
    if grades is not None:
        order = _stratified_order(order, {patient: max(grades[name] for name in names)
                                          for patient, names in patients.items()})
    validation = set()
    for patient in order:
        if len(validation) >= validation_size:
            break
        validation.update(patients[patient])
    return validation


def _stratified_order(patients, stratum_of):
    """Reorders `patients` so that any prefix holds each stratum in proportion to its size.

    A stratum's k-th of n patients sits at (k + 0.5) / n: the first fifth of the order
    takes a fifth of every stratum (a stratum of one patient stays out of prefixes under half).
    """
    strata = {}
    for patient in patients:
        strata.setdefault(stratum_of[patient], []).append(patient)
    position = {patient: (index + 0.5) / len(members)
                for members in strata.values() for index, patient in enumerate(members)}
    return sorted(patients, key=position.__getitem__)


def effective_validation_size(validation_size, num_images):
    """Returns `validation_size`, or a fifth of the images when it would take more than half."""
    if validation_size <= num_images // 2:
        return validation_size
    smaller = num_images // 5
    logging.warning("--validation_size=%d is more than half of the %d labelled images; using %d",
                    validation_size, num_images, smaller)
    return smaller


def _test_jobs(dataset_dir, processed, report):
    """The Jobs of the test photos: labelled by the solution file when it is there, else blind."""
    folder = os.path.join(dataset_dir, "test")
    solution_path = os.path.join(dataset_dir, SOLUTION_CSV)
    if not os.path.exists(solution_path):
        return listed_photos.blind_jobs(processed, "test", folder, report, eye_photos.patient_id)
    solution = read_solution(solution_path, report)
    found = fundus_conversion.locate(folder, [item.name for item in solution], report, SOLUTION_CSV, IMAGE_EXTENSION)
    return listed_photos.listed_jobs(processed, solution, found, eye_photos.patient_id)


def plan(dataset_dir, validation_size, seed, report, processed):
    """Returns the Jobs of a Kaggle-layout folder: the labelled photos split by patient, and the test photos.

    Raises:
      ValueError: trainLabels.csv is missing or lists no usable image, or train/ holds none of them.
    """
    labels_path = os.path.join(dataset_dir, LABELS_CSV)
    labels = read_labels(labels_path, report)
    if not labels:
        raise ValueError(f"{labels_path}: lists no usable image (rows 'image,level' after the header)")
    train_folder = os.path.join(dataset_dir, "train")
    found = fundus_conversion.locate(train_folder, [name for name, _ in labels], report, LABELS_CSV, IMAGE_EXTENSION)
    present = [(name, grade) for name, grade in labels if name in found]
    if not present:
        raise ValueError(f"{train_folder}: holds none of the {len(labels)} photos listed in {LABELS_CSV}")
    validation_names = split_by_patient(
        [name for name, _ in present], effective_validation_size(validation_size, len(present)), seed, dict(present))
    listed = [Listed(name, "validation" if name in validation_names else "train", grade) for name, grade in present]
    return (listed_photos.listed_jobs(processed, listed, found, eye_photos.patient_id)
            + _test_jobs(dataset_dir, processed, report))


def run(dataset_dir, validation_size=DEFAULT_VALIDATION_SIZE, seed=0, **options):
    """Converts a Kaggle-layout folder; see the module docstring.

    Args:
      dataset_dir: the Kaggle-layout folder.
      validation_size: images held out for validation, rounded up to whole patients.
      seed: seed of the split and of the shard shuffle.
      **options: fundus_conversion.run's options and preprocessing settings (num_workers, num_shards,
        overwrite, keep_ungradable, image_size, crop_mode, ...).

    Returns:
      The exit status: 1 when a listed image (or CSV row) could not be converted, else 0.

    Raises:
      ValueError: `dataset_dir` has no usable trainLabels.csv, it lists no image, an unknown
        setting, or no labelled image could be converted.
    """
    return fundus_conversion.run(dataset_dir, LAYOUT, functools.partial(plan, dataset_dir, validation_size, seed),
                                 seed=seed, **options)
