"""Converts Kaggle's diabetic-retinopathy photographs into the book's TFRecords.

Input, in `dataset_dir`: `trainLabels.csv` (`image,level`), `train/NAME.jpeg` and
optionally Kaggle's blind `test/NAME.jpeg`. Output:

  processed_images/{train,validation}/{grade}/NAME.jpeg and
  processed_images/test/unlabelled/NAME.jpeg: cropped, 299x299, JPEG quality 95;
  tfrecords/diabetic_{split}_{i:05d}-of-{n:05d}.tfrecord, labels.txt, split_sizes.txt;
  processed_images/conversion_records.jsonl: what made each processed image;
  tfrecords/conversion.json: the settings and a digest of the inputs the TFRecords hold;
  conversion_report.txt: one line per problem found.

With Graham's normalisation (`graham=True`, data_utils.graham_normalise) the images and
TFRecords go to processed_images_graham/ and tfrecords_graham/ instead, so both sets can
be kept and compared.

An image that trainLabels.csv lists with two grades goes into no split (datasets.label_rows).
The split is by patient (`10_left` and `10_right` on the same side). An image
already processed from the same source file with the same settings is kept, so
a killed run resumes where it stopped; any other is processed again. The
TFRecords are rewritten only when what they would hold changed.
"""
import contextlib
import csv
import fcntl
import functools
import glob
import hashlib
import json
import multiprocessing
import os
import random
from collections import namedtuple

from absl import logging

import data_utils
from fundus import quality as fundus_quality
from datasets import conversion_records, dataset_utils, diabetic, label_rows, tfrecord_writer
from utils import atomic_files, names
from utils.progress import ProgressLog

LABELS_CSV = "trainLabels.csv"
PROCESSED_DIR = "processed_images"
TFRECORDS_DIR = "tfrecords"
# With graham=True the conversion writes its own set beside the default one.
GRAHAM_SUFFIX = "_graham"
REPORT_FILENAME = "conversion_report.txt"
TEST_CLASS_FOLDER = "unlabelled"
IMAGE_EXTENSION = ".jpeg"
CONVERSION_FILENAME = "conversion.json"
DEFAULT_VALIDATION_SIZE = 5126
QUALITY_FILENAME = "quality.csv"
NAME_PREFIX = "diabetic"

Job = namedtuple("Job", "source destination split label image_id")


class Report:
    """Collects problems, logs each as one line and writes them to the report file."""

    def __init__(self):
        self.errors = []
        self.warnings = []
        # Images whose labels were refused: listed, so their files are not reported as unlisted.
        self.refused = set()

    def error(self, where, problem):
        """An input that could not be converted."""
        self.errors.append(f"{where}: {problem}")
        logging.error("%s: %s", where, problem)

    def warning(self, where, problem, log=True):
        """An input converted or skipped on purpose, worth a look; with `log`, also logged (else only the file)."""
        self.warnings.append(f"{where}: {problem}")
        if log:
            logging.warning("%s: %s", where, problem)

    def summarise(self, items, what, where):
        """Logs one line for many `items` (names): how many, the first few, and that all are in the report."""
        if items:
            logging.warning("%d %s (%s); all listed in %s", len(items), what, names.first_few(items), where)

    def write(self, path):
        """Writes `error ...` then `warning ...` lines to `path`, atomically."""
        lines = [f"error {line}\n" for line in self.errors] + [f"warning {line}\n" for line in self.warnings]
        with atomic_files.open_atomically(path) as handle:
            handle.writelines(lines)


def _label_problem(name, level):
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        return f"image name {name!r} is not a plain file name"
    if level not in {str(grade) for grade in range(diabetic.NUM_CLASSES)}:
        return f"level {level!r} is not a grade 0-{diabetic.NUM_CLASSES - 1}"
    return None


def read_labels(csv_path, report):
    """Reads Kaggle's `image,level` file; bad rows are reported and skipped.

    An image listed twice with one grade is kept once (a warning); with two grades, neither row is
    kept (an error naming both) and the image is added to `report.refused`.

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
        for row in reader:
            where = f"{csv_path} line {reader.line_num}"
            if not row:
                continue
            if len(row) != 2:
                report.error(where, f"expected 2 fields 'image,level', got {len(row)}")
                continue
            name, level = (field.strip() for field in row)
            problem = _label_problem(name, level)
            if problem:
                report.error(where, problem)
                continue
            rows.append(label_rows.Row(reader.line_num, name, int(level)))
    kept, repeats = label_rows.without_repeats(rows)
    for repeat in repeats:
        _report_repeat(repeat, csv_path, report)
    return [(row.image, row.label) for row in kept]


def _report_repeat(repeat, csv_path, report):
    """Reports an image listed more than once: an error and refused when its grades disagree, else a warning."""
    if repeat.conflicting:
        report.error(repeat.where(csv_path), repeat.problem("grade"))
        report.refused.add(repeat.image)
    else:
        report.warning(repeat.where(csv_path), repeat.problem("grade"))


def patient_id(image_name):
    """Returns `10` for `10_left` or `10_right`; other names are their own patient."""
    stem, _, eye = image_name.rpartition("_")
    return stem if stem and eye in ("left", "right") else image_name


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
        patients.setdefault(patient_id(name), []).append(name)
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


def _images_on_disk(folder, report):
    """Returns {image name: path} of the visible files in `folder` (empty if it does not exist).

    `10_left.jpeg`, `10_left.jpg` and `10_left.JPEG` all name image `10_left`; two files of one
    name are reported and map to None.
    """
    if not os.path.isdir(folder):
        return {}
    found = {}
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.is_file() and not entry.name.startswith(".") and not atomic_files.is_temporary(entry.name):
            found.setdefault(os.path.splitext(entry.name)[0], []).append(entry.path)
    for name, paths in found.items():
        if len(paths) > 1:
            report.error(paths[0], f"{len(paths)} files for image {name} "
                         f"({', '.join(os.path.basename(path) for path in paths)}); keep one")
    return {name: paths[0] if len(paths) == 1 else None for name, paths in found.items()}


def output_folder(name, settings):
    """Returns PROCESSED_DIR or TFRECORDS_DIR (`name`) for `settings`: with Graham's normalisation, its own."""
    return name + GRAHAM_SUFFIX if settings.get("graham") else name


def present_labels(dataset_dir, labels, report):
    """Returns ({image name: path} of the files in train/, the `labels` rows whose photo is there).

    Listed photos that are missing (a partial download) are summed up in one logged line and
    each named in the report; files in train/ that are not listed (nor refused) are reported and skipped.
    """
    on_disk = _images_on_disk(os.path.join(dataset_dir, "train"), report)
    listed = {name for name, _ in labels} | report.refused
    for name in sorted(set(on_disk) - listed):
        if on_disk[name]:
            report.warning(on_disk[name], f"not listed in {LABELS_CSV}; skipped")
    missing = [name for name, _ in labels if name not in on_disk]
    for name in missing:
        report.warning(os.path.join(dataset_dir, "train", name + IMAGE_EXTENSION),
                       f"listed in {LABELS_CSV} but missing", log=False)
    report.summarise(missing, f"of the {len(labels)} photos listed in {LABELS_CSV} are missing from "
                     f"{os.path.join(dataset_dir, 'train')}", REPORT_FILENAME)
    return on_disk, [(name, grade) for name, grade in labels if on_disk.get(name)]


def plan_jobs(dataset_dir, labels, on_disk, validation_names, report, processed_dir=PROCESSED_DIR):
    """Returns the jobs for every labelled photo on disk (`labels`, `on_disk` from present_labels) and test photo."""
    processed = os.path.join(dataset_dir, processed_dir)
    jobs = []
    for name, grade in labels:
        split = "validation" if name in validation_names else "train"
        jobs.append(Job(on_disk[name], os.path.join(processed, split, str(grade), name + IMAGE_EXTENSION),
                        split, grade, name))
    test_images = _images_on_disk(os.path.join(dataset_dir, "test"), report)
    for name, source in sorted((name, source) for name, source in test_images.items() if source):
        jobs.append(Job(source, os.path.join(processed, "test", TEST_CLASS_FOLDER, name + IMAGE_EXTENSION),
                        "test", dataset_utils.UNLABELLED, name))
    return jobs


def remove_refused(processed, refused):
    """Removes the processed images that an earlier run made of the `refused` photos, whose grade is now in doubt."""
    for name in refused:
        for split in ("train", "validation"):
            for path in glob.glob(os.path.join(processed, split, "*", glob.escape(name) + IMAGE_EXTENSION)):
                os.remove(path)


def conversion_settings(**settings):
    """Returns data_utils.DEFAULT_SETTINGS updated with `settings`: what the conversion records.

    Raises:
      ValueError: a setting `preprocess_fundus` does not take, or an image size below 1.
    """
    unknown = sorted(set(settings) - set(data_utils.DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown preprocessing setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(data_utils.DEFAULT_SETTINGS))}")
    merged = {**data_utils.DEFAULT_SETTINGS, **settings}
    if merged["image_size"] < 1:
        raise ValueError(f"--image_size={merged['image_size']}: must be a positive number of pixels")
    return merged


def _preprocess_job(job, settings):
    """Runs in a worker process; returns (job, error or None, quality measures (a dict) or None, warning or None)."""
    try:
        quality, warning = data_utils.preprocess_fundus(job.source, job.destination, **settings)
        return job, None, quality._asdict(), warning
    except (data_utils.BadImageError, OSError) as error:
        return job, str(error), None, None


def preprocess_images(jobs, report, num_workers, settings, records, dataset_dir, overwrite=False):
    """Preprocesses the jobs whose output is not current (all of them with `overwrite`), in `num_workers` processes.

    Args:
      jobs: the Jobs of every image.
      report: a Report for the images that fail.
      num_workers: worker processes.
      settings: keyword arguments of data_utils.preprocess_fundus, recorded with each image.
      records: the processed folder's conversion_records.ConversionRecords, updated as images are made.
      dataset_dir: the folder that the source paths in the records are relative to.
      overwrite: process every image again, current or not.

    Returns:
      {job: its record} of the jobs whose processed image is current at the end.
    """
    wanted = {job: conversion_records.image_record(job.source, dataset_dir, settings) for job in jobs}
    pending = [job for job in jobs if overwrite or not records.is_current(job.destination, wanted[job])
               or records.quality(job.destination) is None]
    logging.info("%d images to preprocess, %d already done with the same source and settings",
                 len(pending), len(jobs) - len(pending))
    progress = ProgressLog(len(pending), every_secs=5.0)
    work = functools.partial(_preprocess_job, settings=settings)
    # Fork: the workers need only data_utils, and spawning would re-import TensorFlow in each.
    with multiprocessing.get_context("fork").Pool(num_workers) as pool:
        for job, error, quality, warning in pool.imap_unordered(work, pending):
            if error:
                report.error(job.source, error)
            else:
                records.add(job.destination, wanted[job], quality)
            if warning:
                report.warning(job.source, warning)
            progress.update(1)
    if pending:
        logging.info("preprocessed %s", progress.line())
    return {job: record for job, record in wanted.items() if records.is_current(job.destination, record)}


def _inputs_digest(done, settings, num_shards, seed):
    """Returns a digest of everything the TFRecords would be made of."""
    rows = sorted((job.split, job.label, job.image_id, conversion_records.canonical_json(record))
                  for job, record in done.items())
    text = conversion_records.canonical_json({"rows": rows, "settings": settings, "num_shards": num_shards,
                                              "seed": seed})
    return hashlib.sha256(text.encode()).hexdigest()


def read_conversion(tfrecords_dir):
    """Returns the conversion.json of a TFRecords folder as a dict, or None when there is none."""
    path = os.path.join(tfrecords_dir, CONVERSION_FILENAME)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except ValueError:
            return None


def tfrecords_up_to_date(tfrecords_dir, digest):
    """Returns whether a previous run finished writing every split from the inputs of `digest`."""
    conversion = read_conversion(tfrecords_dir)
    if not conversion or conversion.get("inputs") != digest:
        return False
    splits = dataset_utils.read_split_sizes(tfrecords_dir)
    return "train" in splits and all(
        tfrecord_writer.split_is_complete(tfrecords_dir, NAME_PREFIX, split) for split in splits)


def write_tfrecords(done_jobs, tfrecords_dir, num_shards, seed, settings, digest):
    """Writes every split's shards, then labels.txt, split_sizes.txt and, last, conversion.json."""
    os.makedirs(tfrecords_dir, exist_ok=True)
    for name in (CONVERSION_FILENAME, dataset_utils.SPLIT_SIZES_FILENAME):
        if os.path.exists(os.path.join(tfrecords_dir, name)):
            os.remove(os.path.join(tfrecords_dir, name))
    sizes = {}
    for split in diabetic.SPLITS:
        images = [(job.destination, job.label, job.image_id) for job in done_jobs if job.split == split]
        if images:
            sizes[split] = tfrecord_writer.write_sharded_tfrecords(
                images, tfrecords_dir, NAME_PREFIX, split, num_shards, seed,
                conversion=conversion_records.canonical_json(settings))
            logging.info("wrote %d %s examples", sizes[split], split)
    dataset_utils.write_label_file({grade: str(grade) for grade in range(diabetic.NUM_CLASSES)}, tfrecords_dir)
    dataset_utils.write_split_sizes(sizes, tfrecords_dir)
    with atomic_files.open_atomically(os.path.join(tfrecords_dir, CONVERSION_FILENAME)) as handle:
        json.dump({"settings": settings, "inputs": digest}, handle, indent=1, sort_keys=True)


@contextlib.contextmanager
def exclusive_conversion(dataset_dir):
    """Holds an exclusive lock on `dataset_dir` for the block, waiting for a running conversion of it.

    Under the lock, temporary files that a killed conversion left are removed.
    """
    handle = os.open(dataset_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logging.info("Another conversion of %s is running; waiting for it to finish", dataset_dir)
            fcntl.flock(handle, fcntl.LOCK_EX)
        for folder in (PROCESSED_DIR, TFRECORDS_DIR, PROCESSED_DIR + GRAHAM_SUFFIX, TFRECORDS_DIR + GRAHAM_SUFFIX):
            removed = atomic_files.remove_temporaries(os.path.join(dataset_dir, folder))
            if removed:
                logging.info("Removed %d temporary files a stopped conversion left in %s", removed, folder)
        yield
    finally:
        os.close(handle)


def run(dataset_dir, validation_size=DEFAULT_VALIDATION_SIZE, num_workers=None, num_shards=None, seed=0,
        overwrite=False, keep_ungradable=False, **settings):
    """Converts a Kaggle-layout folder; see the module docstring.

    Args:
      dataset_dir: the Kaggle-layout folder.
      validation_size: images held out for validation, rounded up to whole patients.
      num_workers: preprocessing processes; None: one per available core.
      num_shards: TFRecord shards per split; None: tfrecord_writer.default_num_shards.
      seed: seed of the split and of the shard shuffle.
      overwrite: process every image and write the TFRecords again, even where current.
      keep_ungradable: also write the photos judged ungradable into the TFRecords.
      **settings: preprocessing settings (data_utils.DEFAULT_SETTINGS keys, e.g. image_size).

    Returns:
      The exit status: 1 when a listed image (or CSV row) could not be converted, else 0.

    Raises:
      ValueError: `dataset_dir` has no usable trainLabels.csv, it lists no image, an unknown
        setting, or no training image could be converted.
    """
    settings = conversion_settings(**settings)
    if not os.path.isdir(dataset_dir):
        raise ValueError(f"--dataset_dir={dataset_dir}: not a directory")
    with exclusive_conversion(dataset_dir):
        return _convert(dataset_dir, validation_size, num_workers, num_shards, seed, overwrite, keep_ungradable,
                        settings)


def exclude_ungradable(done, qualities, report):
    """Returns `done` without the labelled photos judged ungradable; each is named in the report, all in one line."""
    ungradable = sorted((job for job in done if job.split != "test" and not qualities[job.image_id].gradable),
                        key=lambda job: job.image_id)
    for job in ungradable:
        problems = "; ".join(fundus_quality.problems(qualities[job.image_id]))
        report.warning(job.source, f"ungradable ({problems}): kept out of the TFRecords", log=False)
    report.summarise([job.image_id for job in ungradable], f"of {len(done)} labelled photos are ungradable and "
                     "kept out of the TFRecords (--keep_ungradable keeps them; the test split keeps all, "
                     "predict lists them)", f"{QUALITY_FILENAME} and {REPORT_FILENAME}")
    excluded = set(ungradable)
    return {job: record for job, record in done.items() if job not in excluded}


def _convert(dataset_dir, validation_size, num_workers, num_shards, seed, overwrite, keep_ungradable, settings):
    report = Report()
    labels_path = os.path.join(dataset_dir, LABELS_CSV)
    labels = read_labels(labels_path, report)
    if not labels:
        report.write(os.path.join(dataset_dir, REPORT_FILENAME))
        raise ValueError(f"{labels_path}: lists no usable image (rows 'image,level' after the header)")
    on_disk, present = present_labels(dataset_dir, labels, report)
    if not present:
        report.write(os.path.join(dataset_dir, REPORT_FILENAME))
        raise ValueError(f"{os.path.join(dataset_dir, 'train')}: holds none of the {len(labels)} photos "
                         f"listed in {LABELS_CSV}")
    validation_names = split_by_patient(
        [name for name, _ in present], effective_validation_size(validation_size, len(present)), seed, dict(present))
    processed_dir = output_folder(PROCESSED_DIR, settings)
    jobs = plan_jobs(dataset_dir, present, on_disk, validation_names, report, processed_dir)
    remove_refused(os.path.join(dataset_dir, processed_dir), report.refused)
    records = conversion_records.ConversionRecords(os.path.join(dataset_dir, processed_dir))
    done = preprocess_images(jobs, report, num_workers or len(os.sched_getaffinity(0)), settings, records,
                             dataset_dir, overwrite)
    records.save()
    qualities = {job.image_id: fundus_quality.Quality(**records.quality(job.destination)) for job in done}
    with atomic_files.open_atomically(os.path.join(dataset_dir, QUALITY_FILENAME), newline="") as handle:
        fundus_quality.write_csv(handle, qualities)
    if not keep_ungradable:
        done = exclude_ungradable(done, qualities, report)
    report_path = os.path.join(dataset_dir, REPORT_FILENAME)
    report.write(report_path)
    logging.info("%d errors, %d warnings; listed in %s", len(report.errors), len(report.warnings), report_path)
    if not any(job.split == "train" for job in done):
        raise ValueError(f"{dataset_dir}: no training image could be converted; see {report_path}")
    tfrecords_dir = os.path.join(dataset_dir, output_folder(TFRECORDS_DIR, settings))
    digest = _inputs_digest(done, settings, num_shards, seed)
    if not overwrite and tfrecords_up_to_date(tfrecords_dir, digest):
        logging.info("TFRecords in %s are up to date with these images and settings", tfrecords_dir)
    else:
        write_tfrecords([job for job in jobs if job in done], tfrecords_dir, num_shards, seed, settings, digest)
    return 1 if report.errors else 0
