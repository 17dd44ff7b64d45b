"""Small samples of the public DR datasets, each in the layout its distribution unpacks to (no download).

The photos are datasets.kaggle_sample's (scikit-image's real fundus photograph, grade-dependent
lesions, a camera drawn per photo: whole discs at normal exposure, so every one is gradable), a few
hundred pixels wide. Each writer returns what the conversion must make of its sample:
{split: {image id: (grade, {extra feature key: value})}}, the splits named as public_dr names them.
The quirks of the real files are kept: IDRiD's padding columns and the space ending one of its
column names, Messidor-2's `.jpg` ids for `.JPG` files and its `;`-separated exam list.
"""
import csv
import os

import numpy as np
from PIL import Image

from datasets import dataset_utils, kaggle_sample

WIDTHS = (300, 360)
GRADABLE_CAMERAS = kaggle_sample.CameraMix(clipped=0, touching=0, notch=0, text=0, dark=0, bright=0)
DME, GRADABLE, PATIENT = dataset_utils.DME_FEATURE, dataset_utils.GRADABLE_FEATURE, dataset_utils.PATIENT_FEATURE


class Photographer:
    """Saves one photo per call, drawn from a seeded generator; the file's extension picks its format."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.retina = kaggle_sample.load_retina()

    def save(self, path, grade, eye="right"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        camera = kaggle_sample.draw_camera(self.rng, WIDTHS, GRADABLE_CAMERAS)
        photo = Image.fromarray(kaggle_sample.photograph(self.retina, min(grade, 4), eye, self.rng, camera))
        photo.save(path, quality=kaggle_sample.JPEG_QUALITY)


def _write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def write_aptos2019(folder, seed=0, grades=(0, 1, 2, 3, 4, 2), num_test=2):
    """train.csv, train_images/ID.png and test_images/ID.png."""
    photos = Photographer(seed)
    train = {f"{index:04x}c0ffee{index}": grade for index, grade in enumerate(grades)}
    for name, grade in train.items():
        photos.save(os.path.join(folder, "train_images", name + ".png"), grade)
    test = [f"{index:04x}beef" for index in range(num_test)]
    for name in test:
        photos.save(os.path.join(folder, "test_images", name + ".png"), 0)
    _write_csv(os.path.join(folder, "train.csv"), [("id_code", "diagnosis"), *train.items()])
    return {"train": {name: (grade, {}) for name, grade in train.items()},
            "test": {name: (dataset_utils.UNLABELLED, {}) for name in test}}


def write_messidor2(folder, seed=0):
    """messidor_data.csv (Kaggle's adjudicated grades), IMAGES/ (ADCIS) and messidor-2.csv (the exams)."""
    photos = Photographer(seed)
    exams = [("20051020_43808_0100_PP.png", "20051020_43832_0100_PP.png"), ("IM000001.jpg", "IM000002.jpg"),
             ("IM000003.jpg", "IM000004.jpg")]
    # (grade, dme, gradable); the last photo is ungradable, its grade and DME left empty.
    labels = [(0, 0, 1), (1, 0, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1), ("", "", 0)]
    names = [name for exam in exams for name in exam]
    expected = {"test": {}, "test_ungradable": {}}
    for (left, right) in exams:
        for name, eye in ((left, "left"), (right, "right")):
            grade, dme, gradable = labels[names.index(name)]
            # ADCIS's Messidor-Extension files end in .JPG where the grades file says .jpg.
            photos.save(os.path.join(folder, "IMAGES", name.replace(".jpg", ".JPG")), grade or 0, eye)
            image_id, patient = os.path.splitext(name)[0], os.path.splitext(left)[0]
            if gradable:
                expected["test"][image_id] = (grade, {DME: dme, GRADABLE: 1, PATIENT: patient})
            else:
                expected["test_ungradable"][image_id] = (dataset_utils.UNLABELLED, {GRADABLE: 0, PATIENT: patient})
    _write_csv(os.path.join(folder, "messidor_data.csv"),
               [("image_id", "adjudicated_dr_grade", "adjudicated_dme", "adjudicated_gradable"),
                *[(name, *label) for name, label in zip(names, labels)]])
    with open(os.path.join(folder, "messidor-2.csv"), "w") as handle:
        handle.writelines(f"{left};{right}\n" for left, right in exams)
    return expected


IDRID_ROOT = "B. Disease Grading"
IDRID_SETS = {"train": ("a. Training Set", "a. IDRiD_Disease Grading_Training Labels.csv"),
              "test": ("b. Testing Set", "b. IDRiD_Disease Grading_Testing Labels.csv")}


def write_idrid(folder, seed=0, grades=None):
    """B. Disease Grading/1. Original Images/{a. Training Set,b. Testing Set}/IDRiD_NNN.jpg and the two label CSVs.

    `grades` {split: [(retinopathy grade, risk of macular edema)]}; the names restart at IDRiD_001 in each set,
    as IDRiD's do, so the testing set's image ids are `test_IDRiD_NNN`.
    """
    photos = Photographer(seed)
    grades = grades or {"train": [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2)], "test": [(2, 0), (4, 1)]}
    expected = {}
    for split, rows in grades.items():
        images, labels = IDRID_SETS[split]
        names = [f"IDRiD_{index:03d}" for index in range(1, len(rows) + 1)]
        for name, (grade, _) in zip(names, rows):
            photos.save(os.path.join(folder, IDRID_ROOT, "1. Original Images", images, name + ".jpg"), grade)
        # IDRiD's export pads every row with empty columns, and one column name ends in a space.
        _write_csv(os.path.join(folder, IDRID_ROOT, "2. Groundtruths", labels),
                   [("Image name", "Retinopathy grade", "Risk of macular edema ", "", ""),
                    *[(name, grade, dme, "", "") for name, (grade, dme) in zip(names, rows)]])
        prefix = "test_" if split == "test" else ""
        expected[split] = {prefix + name: (grade, {DME: dme}) for name, (grade, dme) in zip(names, rows)}
    return expected


DDR_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


def write_ddr(folder, seed=0, grades=None):
    """DDR-dataset/DR_grading/{train,valid,test}.txt (`name grade` lines, grade 5 ungradable) and the photos."""
    photos = Photographer(seed)
    grades = grades or {"train": [0, 1, 2, 3, 4, 5], "validation": [0, 2, 5], "test": [1, 4, 5]}
    root = os.path.join(folder, "DDR-dataset", "DR_grading")
    expected = {}
    for split, split_grades in grades.items():
        own = DDR_SPLITS[split]
        names = [f"20170{len(expected)}13{index:04d}.jpg" for index in range(len(split_grades))]
        for name, grade in zip(names, split_grades):
            photos.save(os.path.join(root, own, name), grade)
        with open(os.path.join(root, own + ".txt"), "w") as handle:
            handle.writelines(f"{name} {grade}\n" for name, grade in zip(names, split_grades))
        expected[split] = {name[:-4]: (grade, {GRADABLE: 1}) for name, grade in zip(names, split_grades)
                           if grade != 5}
        expected[split + "_ungradable"] = {name[:-4]: (dataset_utils.UNLABELLED, {GRADABLE: 0})
                                           for name, grade in zip(names, split_grades) if grade == 5}
    return expected


WRITERS = {"aptos2019": write_aptos2019, "messidor2": write_messidor2, "idrid": write_idrid, "ddr": write_ddr}
