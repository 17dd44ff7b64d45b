"""Converts Kaggle's diabetic-retinopathy photographs into the book's TFRecords.

Input, in `dataset_dir`: `trainLabels.csv` (`image,level`), `train/NAME.jpeg` and
optionally Kaggle's blind `test/NAME.jpeg`. Output:

  processed_images/{train,validation}/{grade}/NAME.jpeg and
  processed_images/test/unlabelled/NAME.jpeg: cropped, 299x299, JPEG quality 95;
  tfrecords/diabetic_{split}_{i:05d}-of-{n:05d}.tfrecord, labels.txt, split_sizes.txt;
  conversion_report.txt: one line per problem found.

The split is by patient (`10_left` and `10_right` on the same side). Images
already processed are skipped, so a killed run resumes where it stopped.
"""
import csv
import functools
import multiprocessing
import os
import random
from collections import namedtuple

from absl import logging

import data_utils
from datasets import dataset_utils, diabetic, tfrecord_writer
from utils import atomic_files
from utils.progress import ProgressLog

LABELS_CSV = "trainLabels.csv"
PROCESSED_DIR = "processed_images"
TFRECORDS_DIR = "tfrecords"
REPORT_FILENAME = "conversion_report.txt"
TEST_CLASS_FOLDER = "unlabelled"
IMAGE_EXTENSION = ".jpeg"
DEFAULT_VALIDATION_SIZE = 5126
NAME_PREFIX = "diabetic"

Job = namedtuple("Job", "source destination split label image_id")


class Report:
    """Collects problems, logs each as one line and writes them to the report file."""

    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, where, problem):
        """An input that could not be converted."""
        self.errors.append(f"{where}: {problem}")
        logging.error("%s: %s", where, problem)

    def warning(self, where, problem):
        """An input converted or skipped on purpose, worth a look."""
        self.warnings.append(f"{where}: {problem}")
        logging.warning("%s: %s", where, problem)

    def write(self, path):
        """Writes `error ...` then `warning ...` lines to `path`, atomically."""
        lines = [f"error {line}\n" for line in self.errors] + [f"warning {line}\n" for line in self.warnings]
        with atomic_files.open_atomically(path) as handle:
            handle.writelines(lines)


def _label_problem(name, level, seen):
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        return f"image name {name!r} is not a plain file name"
    if name in seen:
        return f"image {name!r} is listed twice"
    if level not in {str(grade) for grade in range(diabetic.NUM_CLASSES)}:
        return f"level {level!r} is not a grade 0-{diabetic.NUM_CLASSES - 1}"
    return None


def read_labels(csv_path, report):
    """Reads Kaggle's `image,level` file; bad rows are reported and skipped.

    Returns:
      [(image name, grade)] in file order.

    Raises:
      ValueError: the file is missing or its header is not `image,level`.
    """
    if not os.path.isfile(csv_path):
        raise ValueError(f"{csv_path}: no such labels file (Kaggle's trainLabels.csv)")
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [field.strip() for field in next(reader, [])]
        if header != ["image", "level"]:
            raise ValueError(f"{csv_path}: header is {','.join(header)!r}, expected 'image,level'")
        rows = []
        seen = set()
        for row in reader:
            where = f"{csv_path} line {reader.line_num}"
            if not row:
                continue
            if len(row) != 2:
                report.error(where, f"expected 2 fields 'image,level', got {len(row)}")
                continue
            name, level = (field.strip() for field in row)
            problem = _label_problem(name, level, seen)
            if problem:
                report.error(where, problem)
                continue
            seen.add(name)
            rows.append((name, int(level)))
    return rows


def patient_id(image_name):
    """Returns `10` for `10_left` or `10_right`; other names are their own patient."""
    stem, _, eye = image_name.rpartition("_")
    return stem if stem and eye in ("left", "right") else image_name


def split_by_patient(image_names, validation_size, seed):
    """Puts whole patients into validation until it holds at least `validation_size` images.

    Returns:
      The set of validation image names; the same names and seed give the same set.
    """
    patients = {}
    for name in image_names:
        patients.setdefault(patient_id(name), []).append(name)
    order = sorted(patients)
    random.Random(seed).shuffle(order)
    validation = set()
    for patient in order:
        if len(validation) >= validation_size:
            break
        validation.update(patients[patient])
    return validation


def effective_validation_size(validation_size, num_images):
    """Returns `validation_size`, or a fifth of the images when it would take more than half."""
    if validation_size <= num_images // 2:
        return validation_size
    smaller = num_images // 5
    logging.warning("--validation_size=%d is more than half of the %d labelled images; using %d",
                    validation_size, num_images, smaller)
    return smaller


def _images_on_disk(folder):
    """Returns {image name: path} of the visible files in `folder` (empty if it does not exist)."""
    if not os.path.isdir(folder):
        return {}
    return {os.path.splitext(entry.name)[0]: entry.path for entry in os.scandir(folder)
            if entry.is_file() and not entry.name.startswith(".") and not atomic_files.is_temporary(entry.name)}


def plan_jobs(dataset_dir, labels, validation_names, report):
    """Returns the jobs for every labelled and test image; reports unlisted and missing files."""
    processed = os.path.join(dataset_dir, PROCESSED_DIR)
    on_disk = _images_on_disk(os.path.join(dataset_dir, "train"))
    listed = {name for name, _ in labels}
    for name in sorted(set(on_disk) - listed):
        report.warning(on_disk[name], f"not listed in {LABELS_CSV}; skipped")
    jobs = []
    for name, grade in labels:
        source = os.path.join(dataset_dir, "train", name + IMAGE_EXTENSION)
        if not os.path.isfile(source):
            report.error(source, f"listed in {LABELS_CSV} but missing")
            continue
        split = "validation" if name in validation_names else "train"
        jobs.append(Job(source, os.path.join(processed, split, str(grade), name + IMAGE_EXTENSION),
                        split, grade, name))
    for name, source in sorted(_images_on_disk(os.path.join(dataset_dir, "test")).items()):
        jobs.append(Job(source, os.path.join(processed, "test", TEST_CLASS_FOLDER, name + IMAGE_EXTENSION),
                        "test", dataset_utils.UNLABELLED, name))
    return jobs


def _preprocess_job(job, image_size, crop_threshold):
    """Runs in a worker process; returns (job, error or None, warning or None)."""
    try:
        return job, None, data_utils.preprocess_fundus(job.source, job.destination, image_size, crop_threshold)
    except (data_utils.BadImageError, OSError) as error:
        return job, str(error), None


def preprocess_images(jobs, report, num_workers, image_size, crop_threshold):
    """Preprocesses the jobs whose output does not exist yet, in `num_workers` processes.

    Returns:
      The jobs whose processed image exists at the end.
    """
    pending = [job for job in jobs if not os.path.exists(job.destination)]
    logging.info("%d images to preprocess, %d already done", len(pending), len(jobs) - len(pending))
    progress = ProgressLog(len(pending), every_secs=5.0)
    work = functools.partial(_preprocess_job, image_size=image_size, crop_threshold=crop_threshold)
    failed = set()
    # Fork: the workers need only data_utils, and spawning would re-import TensorFlow in each.
    with multiprocessing.get_context("fork").Pool(num_workers) as pool:
        for job, error, warning in pool.imap_unordered(work, pending, chunksize=4):
            if error:
                failed.add(job)
                report.error(job.source, error)
            if warning:
                report.warning(job.source, warning)
            progress.update(1)
    if pending:
        logging.info("preprocessed %s", progress.line())
    return [job for job in jobs if job not in failed and os.path.exists(job.destination)]


def tfrecords_complete(tfrecords_dir):
    """Returns whether a previous run finished writing every split it recorded."""
    sizes_path = os.path.join(tfrecords_dir, dataset_utils.SPLIT_SIZES_FILENAME)
    if not os.path.exists(sizes_path):
        return False
    splits = dataset_utils.read_split_sizes(tfrecords_dir)
    return "train" in splits and all(
        tfrecord_writer.split_is_complete(tfrecords_dir, NAME_PREFIX, split) for split in splits)


def write_tfrecords(done_jobs, tfrecords_dir, num_shards, seed):
    """Writes every split's shards, then labels.txt and, last, split_sizes.txt."""
    os.makedirs(tfrecords_dir, exist_ok=True)
    sizes_path = os.path.join(tfrecords_dir, dataset_utils.SPLIT_SIZES_FILENAME)
    if os.path.exists(sizes_path):
        os.remove(sizes_path)
    sizes = {}
    for split in diabetic.SPLITS:
        images = [(job.destination, job.label, job.image_id) for job in done_jobs if job.split == split]
        if images:
            sizes[split] = tfrecord_writer.write_sharded_tfrecords(images, tfrecords_dir, NAME_PREFIX, split,
                                                                   num_shards, seed)
            logging.info("wrote %d %s examples", sizes[split], split)
    dataset_utils.write_label_file({grade: str(grade) for grade in range(diabetic.NUM_CLASSES)}, tfrecords_dir)
    dataset_utils.write_split_sizes(sizes, tfrecords_dir)


def run(dataset_dir, validation_size=DEFAULT_VALIDATION_SIZE, num_workers=None,
        image_size=data_utils.DEFAULT_IMAGE_SIZE, crop_threshold=data_utils.DEFAULT_CROP_THRESHOLD,
        num_shards=None, seed=0, overwrite=False):
    """Converts a Kaggle-layout folder; see the module docstring.

    Returns:
      The exit status: 1 when a listed image (or CSV row) could not be converted, else 0.

    Raises:
      ValueError: `dataset_dir` has no usable trainLabels.csv.
    """
    tfrecords_dir = os.path.join(dataset_dir, TFRECORDS_DIR)
    if not overwrite and tfrecords_complete(tfrecords_dir):
        logging.info("TFRecords already exist in %s; pass --overwrite to convert again", tfrecords_dir)
        return 0
    report = Report()
    labels = read_labels(os.path.join(dataset_dir, LABELS_CSV), report)
    validation_names = split_by_patient(
        [name for name, _ in labels], effective_validation_size(validation_size, len(labels)), seed)
    jobs = plan_jobs(dataset_dir, labels, validation_names, report)
    done_jobs = preprocess_images(jobs, report, num_workers or len(os.sched_getaffinity(0)), image_size,
                                  crop_threshold)
    write_tfrecords(done_jobs, tfrecords_dir, num_shards, seed)
    report_path = os.path.join(dataset_dir, REPORT_FILENAME)
    report.write(report_path)
    logging.info("%d errors, %d warnings; listed in %s", len(report.errors), len(report.warnings), report_path)
    return 1 if report.errors else 0
