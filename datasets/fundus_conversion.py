"""What every DR dataset's conversion shares, once its converter knows each photo's split and labels.

A layout's converter (download_and_convert_diabetic, convert_aptos2019, convert_messidor2,
convert_idrid, convert_ddr) reads its label files and finds its photos (`locate`), making one Job per
photo; `run` does the rest, the same for every layout, in `dataset_dir`:

  processed_images/{split}/{grade}/NAME.jpeg (`unlabelled/` for a photo without a grade): each photo
    prepared by fundus_preparation.preprocess_fundus in worker processes; processed_images/conversion_records.jsonl
    records what made each (conversion_records), so a killed run resumes and a rerun keeps what is current;
  quality.csv: every prepared photo's gradability measures (fundus.quality); the photos judged
    ungradable are kept out of the TRAINING_SPLITS' TFRecords unless `keep_ungradable` (every other split
    keeps all its photos, for evaluation to count them);
  tfrecords/{prefix}_{split}_{i:05d}-of-{n:05d}.tfrecord, labels.txt (grades 0-4), split_sizes.txt and
    conversion.json (the settings and a digest of the inputs: an unchanged rerun rewrites nothing); each
    example carries its Job's extras (dataset_utils.EXTRA_FEATURES);
  conversion_report.txt: one line per problem, the run's exit status 1 when one is an error.

With Graham's normalisation (`graham=True`) the images and TFRecords go to processed_images_graham/
and tfrecords_graham/ instead, so both sets can be kept and compared.
"""
import contextlib
import fcntl
import functools
import glob
import hashlib
import json
import multiprocessing
import os
from collections import namedtuple

from absl import logging

from datasets import conversion_records, dataset_utils, tfrecord_writer
from fundus import preparation as fundus_preparation
from fundus import quality as fundus_quality
from utils import atomic_files, names
from utils.progress import ProgressLog

PROCESSED_DIR = "processed_images"
TFRECORDS_DIR = "tfrecords"
GRAHAM_SUFFIX = "_graham"
REPORT_FILENAME = "conversion_report.txt"
QUALITY_FILENAME = "quality.csv"
CONVERSION_FILENAME = "conversion.json"
UNLABELLED_FOLDER = "unlabelled"
IMAGE_EXTENSION = ".jpeg"
NUM_GRADES = 5
# The splits a model is trained and tuned on: the photos judged ungradable stay out of them.
TRAINING_SPLITS = ("train", "validation")

# One photo to convert: its source file, the prepared image's path, split, grade (-1: none), image id
# (`image/filename`) and extras, ((feature key, value), ...) of dataset_utils.EXTRA_FEATURES.
Job = namedtuple("Job", "source destination split label image_id extras", defaults=((),))
# A dataset's TFRecords: their name prefix (`{prefix}_{split}_...`) and the splits they may have, in order.
Layout = namedtuple("Layout", "name_prefix splits")


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


def make_job(processed_dir, split, label, image_id, source, extras=()):
    """Returns the Job of one photo, prepared into `processed_dir/split/{label or unlabelled}/image_id.jpeg`."""
    folder = str(label) if label >= 0 else UNLABELLED_FOLDER
    return Job(source, os.path.join(processed_dir, split, folder, image_id + IMAGE_EXTENSION), split, label,
               image_id, tuple(extras))


def images_on_disk(folder, report):
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


def locate(folder, listed, report, list_name, extension):
    """Finds the photos that `list_name` lists in `folder`.

    Listed photos that are missing (a partial download) are summed up in one logged line and each
    named in the report; files in `folder` that are not listed (nor refused) are reported and skipped.

    Args:
      folder: where the photos are.
      listed: the image ids (file names without extension) the list names, in its order.
      report: a Report (its `refused` ids count as listed).
      list_name: the list's file name, for messages.
      extension: the photos' usual extension, to name a missing one.

    Returns:
      {image id: path} of the listed photos found, in `listed` order.
    """
    on_disk = images_on_disk(folder, report)
    for name in sorted(set(on_disk) - set(listed) - report.refused):
        if on_disk[name]:
            report.warning(on_disk[name], f"not listed in {list_name}; skipped")
    missing = [name for name in listed if name not in on_disk]
    for name in missing:
        report.warning(os.path.join(folder, name + extension), f"listed in {list_name} but missing", log=False)
    report.summarise(missing, f"of the {len(listed)} photos listed in {list_name} are missing from {folder}",
                     REPORT_FILENAME)
    return {name: on_disk[name] for name in listed if on_disk.get(name)}


def output_folder(name, settings):
    """Returns PROCESSED_DIR or TFRECORDS_DIR (`name`) for `settings`: with Graham's normalisation, its own."""
    return name + GRAHAM_SUFFIX if settings.get("graham") else name


def remove_refused(processed, refused, splits):
    """Removes the processed images that an earlier run made of the `refused` photos, whose grade is now in doubt."""
    for name in refused:
        for split in splits:
            for path in glob.glob(os.path.join(processed, split, "*", glob.escape(name) + IMAGE_EXTENSION)):
                os.remove(path)


def conversion_settings(**settings):
    """Returns fundus_preparation.DEFAULT_SETTINGS updated with `settings`: what the conversion records.

    Raises:
      ValueError: a setting `preprocess_fundus` does not take, or an image size below 1.
    """
    unknown = sorted(set(settings) - set(fundus_preparation.DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(f"unknown preprocessing setting(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(fundus_preparation.DEFAULT_SETTINGS))}")
    merged = {**fundus_preparation.DEFAULT_SETTINGS, **settings}
    if merged["image_size"] < 1:
        raise ValueError(f"--image_size={merged['image_size']}: must be a positive number of pixels")
    return merged


def _preprocess_job(job, settings):
    """Runs in a worker process; returns (job, error or None, quality measures (a dict) or None, warning or None)."""
    try:
        quality, warning = fundus_preparation.preprocess_fundus(job.source, job.destination, **settings)
        return job, None, quality._asdict(), warning
    except (fundus_preparation.BadImageError, OSError) as error:
        return job, str(error), None, None


def preprocess_images(jobs, report, num_workers, settings, records, dataset_dir, overwrite=False):
    """Preprocesses the jobs whose output is not current (all of them with `overwrite`), in `num_workers` processes.

    Args:
      jobs: the Jobs of every image.
      report: a Report for the images that fail.
      num_workers: worker processes.
      settings: keyword arguments of fundus_preparation.preprocess_fundus, recorded with each image.
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
    # Fork: the workers need only fundus.preparation, and spawning would re-import TensorFlow in each.
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
    rows = sorted((job.split, job.label, job.image_id, job.extras, conversion_records.canonical_json(record))
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


def tfrecords_up_to_date(tfrecords_dir, name_prefix, digest):
    """Returns whether a previous run finished writing every split from the inputs of `digest`."""
    conversion = read_conversion(tfrecords_dir)
    if not conversion or conversion.get("inputs") != digest:
        return False
    splits = dataset_utils.read_split_sizes(tfrecords_dir)
    return bool(splits) and all(tfrecord_writer.split_is_complete(tfrecords_dir, name_prefix, split)
                                for split in splits)


def write_tfrecords(done_jobs, layout, tfrecords_dir, num_shards, seed, settings, digest):
    """Writes every split's shards (removing those of a layout split now empty), then labels.txt,
    split_sizes.txt and, last, conversion.json."""
    os.makedirs(tfrecords_dir, exist_ok=True)
    for name in (CONVERSION_FILENAME, dataset_utils.SPLIT_SIZES_FILENAME):
        if os.path.exists(os.path.join(tfrecords_dir, name)):
            os.remove(os.path.join(tfrecords_dir, name))
    sizes = {}
    for split in layout.splits:
        images = [(job.destination, job.label, job.image_id, dict(job.extras))
                  for job in done_jobs if job.split == split]
        if images:
            sizes[split] = tfrecord_writer.write_sharded_tfrecords(
                images, tfrecords_dir, layout.name_prefix, split, num_shards, seed,
                conversion=conversion_records.canonical_json(settings))
            logging.info("wrote %d %s examples", sizes[split], split)
        else:
            tfrecord_writer.remove_split(tfrecords_dir, layout.name_prefix, split)
    dataset_utils.write_label_file({grade: str(grade) for grade in range(NUM_GRADES)}, tfrecords_dir)
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


def exclude_ungradable(done, qualities, report):
    """Returns `done` without the TRAINING_SPLITS' photos judged ungradable; each is named in the report, all in
    one line."""
    ungradable = sorted((job for job in done if job.split in TRAINING_SPLITS and not qualities[job.image_id].gradable),
                        key=lambda job: job.image_id)
    for job in ungradable:
        problems = "; ".join(fundus_quality.problems(qualities[job.image_id]))
        report.warning(job.source, f"ungradable ({problems}): kept out of the TFRecords", log=False)
    training = sum(job.split in TRAINING_SPLITS for job in done)
    report.summarise([job.image_id for job in ungradable],
                     f"of {training} training photos ({' and '.join(TRAINING_SPLITS)}) are ungradable and kept out "
                     "of the TFRecords (--keep_ungradable keeps them; every other split keeps all its photos, and "
                     "predict lists them)", f"{QUALITY_FILENAME} and {REPORT_FILENAME}")
    excluded = set(ungradable)
    return {job: record for job, record in done.items() if job not in excluded}


def _write_quality(path, done, records):
    """Writes quality.csv; returns {image id: Quality} of the `done` jobs."""
    qualities = {job.image_id: fundus_quality.Quality(**records.quality(job.destination)) for job in done}
    with atomic_files.open_atomically(path, newline="") as handle:
        fundus_quality.write_csv(handle, qualities)
    return qualities


def run(dataset_dir, layout, plan, num_workers=None, num_shards=None, seed=0, overwrite=False,
        keep_ungradable=False, **settings):
    """Converts a dataset folder whose photos `plan` lists; see the module docstring.

    Args:
      dataset_dir: the dataset's folder, as its distribution unpacks; the outputs go there too.
      layout: the dataset's Layout.
      plan: `plan(report, processed_dir)` -> the Jobs of every photo to convert (make_job); reports bad
        rows and files in `report` and raises ValueError when nothing can be converted.
      num_workers: preprocessing processes; None: one per available core.
      num_shards: TFRecord shards per split; None: tfrecord_writer.default_num_shards.
      seed: seed of the shard shuffle (and of any split `plan` draws).
      overwrite: process every image and write the TFRecords again, even where current.
      keep_ungradable: also write the training splits' photos judged ungradable into the TFRecords.
      **settings: preprocessing settings (fundus_preparation.DEFAULT_SETTINGS keys, e.g. image_size).

    Returns:
      The exit status: 1 when a listed photo (or label row) could not be converted, else 0.

    Raises:
      ValueError: `dataset_dir` is not a folder, an unknown setting, `plan` found nothing to convert,
        or no labelled photo could be converted.
    """
    settings = conversion_settings(**settings)
    if not os.path.isdir(dataset_dir):
        raise ValueError(f"--dataset_dir={dataset_dir}: not a directory")
    with exclusive_conversion(dataset_dir):
        report = Report()
        report_path = os.path.join(dataset_dir, REPORT_FILENAME)
        processed = os.path.join(dataset_dir, output_folder(PROCESSED_DIR, settings))
        try:
            jobs = plan(report, processed)
        except ValueError:
            report.write(report_path)
            raise
        remove_refused(processed, report.refused, layout.splits)
        records = conversion_records.ConversionRecords(processed)
        done = preprocess_images(jobs, report, num_workers or len(os.sched_getaffinity(0)), settings, records,
                                 dataset_dir, overwrite)
        records.save()
        qualities = _write_quality(os.path.join(dataset_dir, QUALITY_FILENAME), done, records)
        if not keep_ungradable:
            done = exclude_ungradable(done, qualities, report)
        report.write(report_path)
        logging.info("%d errors, %d warnings; listed in %s", len(report.errors), len(report.warnings), report_path)
        if not any(job.label >= 0 for job in done):
            raise ValueError(f"{dataset_dir}: no labelled photo could be converted; see {report_path}")
        tfrecords_dir = os.path.join(dataset_dir, output_folder(TFRECORDS_DIR, settings))
        digest = _inputs_digest(done, settings, num_shards, seed)
        if not overwrite and tfrecords_up_to_date(tfrecords_dir, layout.name_prefix, digest):
            logging.info("TFRecords in %s are up to date with these images and settings", tfrecords_dir)
        else:
            write_tfrecords([job for job in jobs if job in done], layout, tfrecords_dir, num_shards, seed, settings,
                            digest)
        return 1 if report.errors else 0
