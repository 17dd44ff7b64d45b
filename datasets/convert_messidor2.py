"""Converts Messidor-2 with the adjudicated grades Krause et al. (2018) published for it.

Input, in `dataset_dir`: the ADCIS distribution's `IMAGES/` (the photos, `.png` and `.JPG`) and
`messidor-2.csv` (the exams, `left;right` photo names: its two eyes; optional), and Kaggle's
"Messidor-2 DR grades" file `messidor_data.csv` (`image_id,adjudicated_dr_grade,adjudicated_dme,
adjudicated_gradable`; the photos the adjudicators called ungradable have no grade). Output, as
datasets.fundus_conversion writes it: one split, `test` (Messidor-2 has none of its own), and
`test_ungradable` for the ungradable photos; `image/dme` and `image/gradable` are the adjudicated
labels, `image/patient` the exam's (its first photo's name), where messidor-2.csv lists it.
"""
import functools
import os

from datasets import dataset_utils, fundus_conversion, grade_tables, listed_photos, public_dr

GRADES_CSV = "messidor_data.csv"
EXAMS_CSV = "messidor-2.csv"
IMAGES_FOLDER = "IMAGES"
IMAGE_EXTENSION = ".png"
SPLIT = "test"
COLUMNS = ("image_id", "adjudicated_dr_grade", "adjudicated_dme", "adjudicated_gradable")
LAYOUT = fundus_conversion.Layout(public_dr.MESSIDOR2.name, public_dr.MESSIDOR2.splits)


def _stem(name):
    """`IM000001` of `IM000001.jpg`: the grades file and the files spell extensions differently."""
    return os.path.splitext(name)[0]


def _row(values):
    name, grade, dme, gradable = values
    if not grade_tables.flag(gradable, COLUMNS[3]):
        return listed_photos.Listed(_stem(name), SPLIT, None, ((dataset_utils.GRADABLE_FEATURE, 0),))
    return listed_photos.Listed(_stem(name), SPLIT, grade_tables.grade(grade, COLUMNS[1]),
                                ((dataset_utils.DME_FEATURE, grade_tables.flag(dme, COLUMNS[2])),
                                 (dataset_utils.GRADABLE_FEATURE, 1)))


def read_exams(path, report):
    """Returns {photo name: patient} from messidor-2.csv, the patient an exam's first photo; {} without the file.

    A photo in two exams is reported and left without a patient.
    """
    if not os.path.exists(path):
        return {}
    patients, lines = {}, {}
    for where, line, names in grade_tables.read_list(path, ("left", "right"), report, "Messidor-2's exams",
                                                     delimiter=";"):
        for name in map(_stem, names):
            if name in lines:
                report.warning(where, f"photo {name!r} is also in the exam on line {lines[name]}; "
                               "it is given no patient")
                patients[name] = None
            else:
                patients[name], lines[name] = _stem(names[0]), line
    return patients


def plan(dataset_dir, report, processed):
    """Returns the Jobs of a Messidor-2 folder (fundus_conversion.run's `plan`)."""
    path = os.path.join(dataset_dir, GRADES_CSV)
    rows = grade_tables.read_csv(path, COLUMNS, report, "Kaggle's Messidor-2 DR grades")
    listed = listed_photos.listed_rows(rows, path, report, _row)
    found = fundus_conversion.locate(os.path.join(dataset_dir, IMAGES_FOLDER), [item.name for item in listed],
                                     report, GRADES_CSV, IMAGE_EXTENSION)
    patients = read_exams(os.path.join(dataset_dir, EXAMS_CSV), report)
    return listed_photos.listed_jobs(processed, listed, found, patients.get)


def run(dataset_dir, **options):
    """Converts a Messidor-2 folder; `options` are fundus_conversion.run's. Returns the exit status."""
    return fundus_conversion.run(dataset_dir, LAYOUT, functools.partial(plan, dataset_dir), **options)
