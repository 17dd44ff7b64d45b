"""Converts the DR grading part of DDR (the dataset of Li et al. 2019, 13,673 photos from 147 hospitals).

Input, in `dataset_dir` (the folder holding `DDR-dataset/`, `DDR-dataset/` itself or its `DR_grading/`):
`DR_grading/{train,valid,test}.txt` (`NAME.jpg GRADE` lines, grades 0-4 and 5 for ungradable) and the
photos in `DR_grading/{train,valid,test}/`. Output, as datasets.fundus_conversion writes it: the splits
`train`, `validation` (DDR's valid) and `test`, a list that is absent left out; the photos graded 5 go
to `{split}_ungradable` (label -1, `image/gradable` 0), the others have `image/gradable` 1. DDR names
no patients.
"""
import functools
import os

from datasets import dataset_utils, fundus_conversion, grade_tables, listed_photos, public_dr

ROOT_CANDIDATES = ("DR_grading", os.path.join("DDR-dataset", "DR_grading"), ".")
# split -> DDR's name of it (its list `NAME.txt` and folder `NAME/`)
SPLITS = {"train": "train", "validation": "valid", "test": "test"}
UNGRADABLE_GRADE = 5
IMAGE_EXTENSION = ".jpg"
LAYOUT = fundus_conversion.Layout(public_dr.DDR.name, public_dr.DDR.splits)


def _parser(split):
    def parse(values):
        name, grade = values
        if grade == str(UNGRADABLE_GRADE):
            return listed_photos.Listed(os.path.splitext(name)[0], split, None,
                                        ((dataset_utils.GRADABLE_FEATURE, 0),))
        return listed_photos.Listed(os.path.splitext(name)[0], split, grade_tables.grade(grade, "grade"),
                                    ((dataset_utils.GRADABLE_FEATURE, 1),))
    return parse


def plan(dataset_dir, report, processed):
    """Returns the Jobs of a DDR folder (fundus_conversion.run's `plan`)."""
    root = listed_photos.layout_root(dataset_dir, ROOT_CANDIDATES, [own + ".txt" for own in SPLITS.values()])
    jobs = []
    for split, own in SPLITS.items():
        path = os.path.join(root, own + ".txt")
        if not os.path.exists(path):
            continue
        rows = grade_tables.read_list(path, ("name", "grade"), report, "DDR's grading list")
        listed = listed_photos.listed_rows(rows, path, report, _parser(split))
        found = fundus_conversion.locate(os.path.join(root, own), [item.name for item in listed], report,
                                         own + ".txt", IMAGE_EXTENSION)
        jobs += listed_photos.listed_jobs(processed, listed, found)
    return jobs


def run(dataset_dir, **options):
    """Converts a DDR folder; `options` are fundus_conversion.run's. Returns the exit status."""
    return fundus_conversion.run(dataset_dir, LAYOUT, functools.partial(plan, dataset_dir), **options)
