"""Converts the Disease Grading part of IDRiD (the Indian Diabetic Retinopathy Image Dataset).

Input, in `dataset_dir` (or one level deeper, as its zip unpacks into a folder of its own name):
`B. Disease Grading/1. Original Images/{a. Training Set,b. Testing Set}/IDRiD_NNN.jpg` and
`B. Disease Grading/2. Groundtruths/{a. IDRiD_Disease Grading_Training Labels.csv,
b. IDRiD_Disease Grading_Testing Labels.csv}` (`Image name,Retinopathy grade,Risk of macular edema`).
Output, as datasets.fundus_conversion writes it: the splits `train` and `test` (IDRiD's own; a set whose
labels file is absent is left out), `image/dme` the risk of macular edema (0-2). Both sets number
their photos from IDRiD_001, so the testing set's image ids are `test_IDRiD_NNN`. IDRiD names no patients.
"""
import functools
import os

from datasets import dataset_utils, fundus_conversion, grade_tables, listed_photos, public_dr

ROOT_CANDIDATES = ("B. Disease Grading", os.path.join("B. Disease Grading", "B. Disease Grading"), ".")
IMAGES = "1. Original Images"
GROUNDTRUTHS = "2. Groundtruths"
# split -> (its photos' folder, its labels file, the prefix of its image ids)
SETS = {"train": ("a. Training Set", "a. IDRiD_Disease Grading_Training Labels.csv", ""),
        "test": ("b. Testing Set", "b. IDRiD_Disease Grading_Testing Labels.csv", "test_")}
COLUMNS = ("Image name", "Retinopathy grade", "Risk of macular edema")
IMAGE_EXTENSION = ".jpg"
LAYOUT = fundus_conversion.Layout(public_dr.IDRID.name, public_dr.IDRID.splits)


def _parser(split):
    def parse(values):
        name, grade, risk = values
        return listed_photos.Listed(name, split, grade_tables.grade(grade, COLUMNS[1]),
                                    ((dataset_utils.DME_FEATURE,
                                      grade_tables.integer_in(risk, COLUMNS[2], range(3), "a risk 0-2")),))
    return parse


def plan(dataset_dir, report, processed):
    """Returns the Jobs of an IDRiD folder (fundus_conversion.run's `plan`)."""
    root = listed_photos.layout_root(dataset_dir, ROOT_CANDIDATES,
                                     [os.path.join(GROUNDTRUTHS, labels) for _, labels, _ in SETS.values()])
    jobs = []
    for split, (images, labels, prefix) in SETS.items():
        path = os.path.join(root, GROUNDTRUTHS, labels)
        if not os.path.exists(path):
            continue
        rows = grade_tables.read_csv(path, COLUMNS, report, "IDRiD's disease grades")
        listed = listed_photos.listed_rows(rows, path, report, _parser(split))
        found = fundus_conversion.locate(os.path.join(root, IMAGES, images), [item.name for item in listed],
                                         report, labels, IMAGE_EXTENSION)
        jobs += listed_photos.listed_jobs(processed, listed, found, id_prefix=prefix)
    return jobs


def run(dataset_dir, **options):
    """Converts an IDRiD folder; `options` are fundus_conversion.run's. Returns the exit status."""
    return fundus_conversion.run(dataset_dir, LAYOUT, functools.partial(plan, dataset_dir), **options)
