"""Gradability: a real fundus photo is gradable, blurred, darkened, washed-out and disc-less copies are not;
the conversion lists every photo's verdict in quality.csv and keeps the ungradable ones out of the TFRecords;
a partial download still gets its validation split."""
import csv
import logging
import os

import numpy as np
import pytest
from PIL import Image

from datasets import dataset_utils, kaggle_sample
from datasets import download_and_convert_diabetic as convert
from fundus import preparation as fundus_preparation
from fundus import degradations
from fundus import quality as fundus_quality
from tests.test_disc_geometry import camera_photo, round_retina  # noqa: F401  (a fixture)

FRAME, CENTRE, RADIUS = (972, 1296), (650.0, 484.0), 560.0


@pytest.fixture(scope="module")
def photo(round_retina):
    return Image.fromarray(camera_photo(round_retina, FRAME, CENTRE, RADIUS, notch=True))


def quality_of(tmp_path, image):
    source = str(tmp_path / "photo.jpeg")
    image.save(source, format="JPEG", quality=92)
    return fundus_preparation.preprocess_fundus(source, str(tmp_path / "prepared.jpeg"), image_size=128)[0]


def test_a_fundus_photo_whose_disc_the_frame_cuts_is_gradable(photo, tmp_path):
    quality = quality_of(tmp_path, photo)
    assert quality.gradable and quality.disc_found and fundus_quality.problems(quality) == []
    assert 0.8 < quality.field < 0.95


@pytest.mark.parametrize("degradation", sorted(degradations.DEGRADATIONS))
def test_a_degraded_copy_is_ungradable_and_says_why(photo, tmp_path, degradation):
    degrade, problem = degradations.DEGRADATIONS[degradation]
    quality = quality_of(tmp_path, degrade(photo))
    assert not quality.gradable
    assert any(problem in phrase for phrase in fundus_quality.problems(quality)), fundus_quality.problems(quality)


@pytest.fixture
def sample_with_a_dark_photo(tmp_path):
    """A Kaggle-layout folder of 4 patients plus patient 900, whose left eye is a darkened photo."""
    dataset_dir = str(tmp_path / "kaggle")
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 4, (700, 900), seed=3)
    train = os.path.join(dataset_dir, "train")
    source = Image.open(os.path.join(train, written["train"][0][0] + ".jpeg"))
    degradations.darkened(source).save(os.path.join(train, "900_left.jpeg"), format="JPEG", quality=90)
    source.save(os.path.join(train, "900_right.jpeg"), format="JPEG", quality=90)
    with open(os.path.join(dataset_dir, "trainLabels.csv"), "a") as handle:
        handle.write("900_left,2\n900_right,2\n")
    return dataset_dir, [name for name, _ in written["train"]] + ["900_left", "900_right"]


def split_total(dataset_dir):
    sizes = dataset_utils.read_split_sizes(os.path.join(dataset_dir, "tfrecords"))
    return sizes["train"] + sizes.get("validation", 0)


def test_quality_csv_lists_every_photo_and_the_ungradable_stay_out_of_the_tfrecords(sample_with_a_dark_photo):
    dataset_dir, names = sample_with_a_dark_photo
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, image_size=48) == 0
    with open(os.path.join(dataset_dir, convert.QUALITY_FILENAME)) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["image", "gradable", "disc_found", "field", "exposure", "contrast", "sharpness"]
    verdicts = {row["image"]: row["gradable"] for row in rows}
    assert verdicts == {name: "0" if name == "900_left" else "1" for name in names}
    assert split_total(dataset_dir) == len(names) - 1
    with open(os.path.join(dataset_dir, convert.REPORT_FILENAME)) as handle:
        assert [line for line in handle if "900_left.jpeg: ungradable (too dark" in line]
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, image_size=48, keep_ungradable=True) == 0
    assert split_total(dataset_dir) == len(names)


def test_a_partial_download_still_gets_its_validation_split_and_one_line_for_the_missing(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    dataset_dir = str(tmp_path / "kaggle")
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 5, (400, 500), seed=1)
    # The full labels file of a download that stopped early: 500 more patients listed, none on disk.
    with open(os.path.join(dataset_dir, "trainLabels.csv"), "a") as handle:
        handle.writelines(f"{patient}_{eye},0\n" for patient in range(1000, 1500) for eye in ("left", "right"))
    assert convert.run(dataset_dir, validation_size=4, num_workers=1, image_size=48) == 0
    sizes = dataset_utils.read_split_sizes(os.path.join(dataset_dir, "tfrecords"))
    assert sizes == {"train": len(written["train"]) - 4, "validation": 4}
    missing_lines = [record for record in caplog.records if "missing" in record.getMessage()]
    assert len(missing_lines) == 1 and "1000 of the 1010 photos" in missing_lines[0].getMessage()
    assert len(caplog.records) < 50
    with open(os.path.join(dataset_dir, convert.REPORT_FILENAME)) as handle:
        assert sum("listed in trainLabels.csv but missing" in line for line in handle) == 1000
