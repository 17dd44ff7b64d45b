"""From a DR dataset's label rows to the Jobs of its photos (datasets.fundus_conversion).

A converter parses each row of its tables into a Listed photo (`listed_rows`: a row it cannot
parse is one error in the report, the rest is read; an image listed twice follows
datasets.label_rows). `listed_jobs` makes the Jobs of the listed photos found on disk
(fundus_conversion.locate): the graded ones in their split, those the dataset's graders called
ungradable (no grade) in the split `{split}_ungradable`, label -1: evaluation refuses a split
without grades, and predict can still run on them. `blind_jobs` takes every photo of an unlabelled
folder (a blind test set). `layout_root` finds a distribution's folder.
"""
import os
from collections import namedtuple

from datasets import dataset_utils, fundus_conversion, grade_tables, label_rows
from datasets.public_dr import UNGRADABLE_SUFFIX

# A photo a table lists: its name (the file name without extension), split (None: decided later),
# grade (None: ungradable by the dataset's graders) and extras ((feature key, value), ... of
# dataset_utils.EXTRA_FEATURES).
Listed = namedtuple("Listed", "name split grade extras", defaults=((),))


def _label(values):
    """What two rows of one image must agree on, as the table spells it: the values after the name (one alone)."""
    label = tuple(int(value) if value.isdigit() else value for value in values[1:])
    return label if len(label) > 1 else label[0]


def listed_rows(rows, path, report, parse):
    """Parses table rows into Listed photos.

    Args:
      rows: (where, line number, values) of grade_tables.read_csv or read_list, the image's name first.
      path: the table, for messages.
      report: a fundus_conversion.Report.
      parse: `parse(values)` -> a Listed, raising ValueError (its message the problem) for a bad row.

    Returns:
      The Listed photos in table order; an image listed with two labels is in none (an error, and in
      `report.refused`), one listed twice alike once (a warning).
    """
    parsed, by_line = [], {}
    for where, line, values in rows:
        try:
            listed = parse(values)
            problem = grade_tables.check_name(listed.name)
            if problem:
                raise ValueError(problem)
        except ValueError as error:
            report.error(where, str(error))
            continue
        by_line[line] = listed
        parsed.append(label_rows.Row(line, listed.name, _label(values)))
    kind = "grade" if all(not isinstance(row.label, tuple) for row in parsed) else "label"
    return [by_line[row.line] for row in grade_tables.unique_rows(parsed, path, report, kind)]


def listed_jobs(processed, listed, found, patient_of=None, id_prefix=""):
    """Returns the Jobs of the `listed` photos that were `found`.

    Args:
      processed: the processed images' folder.
      listed: Listed photos, each with its split.
      found: {name: path} of the listed photos found (fundus_conversion.locate).
      patient_of: `patient_of(name)` -> the photo's patient id, or None when unknown; None: no patients.
      id_prefix: put before each name to make its image id (`image/filename`), where the dataset reuses
        names across splits.
    """
    jobs = []
    for item in listed:
        if item.name not in found:
            continue
        if item.grade is None:
            split, label = item.split + UNGRADABLE_SUFFIX, dataset_utils.UNLABELLED
        else:
            split, label = item.split, item.grade
        jobs.append(fundus_conversion.make_job(processed, split, label, id_prefix + item.name, found[item.name],
                                               item.extras + _patient(patient_of, item.name)))
    return jobs


def blind_jobs(processed, split, folder, report, patient_of=None):
    """Returns the Jobs of every photo in `folder` (none when it does not exist), unlabelled, in `split`."""
    on_disk = fundus_conversion.images_on_disk(folder, report)
    return [fundus_conversion.make_job(processed, split, dataset_utils.UNLABELLED, name, source,
                                       _patient(patient_of, name))
            for name, source in sorted(on_disk.items()) if source]


def _patient(patient_of, name):
    """The extras that name the photo's patient, when known."""
    patient = patient_of(name) if patient_of else None
    return ((dataset_utils.PATIENT_FEATURE, patient),) if patient else ()


def layout_root(dataset_dir, candidates, markers):
    """Returns the first of `candidates` (folders relative to `dataset_dir`, `.` itself) holding one of `markers`.

    A distribution's folder may be unpacked into a folder of its own name, one level deeper.

    Raises:
      ValueError: none does, naming where the markers were looked for.
    """
    for candidate in candidates:
        root = os.path.normpath(os.path.join(dataset_dir, candidate))
        if any(os.path.exists(os.path.join(root, marker)) for marker in markers):
            return root
    raise ValueError(f"{dataset_dir}: no {' or '.join(markers)} in {' or '.join(map(repr, candidates))}; "
                     "give the folder the dataset was unpacked into")
