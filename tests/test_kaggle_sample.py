"""The synthetic Kaggle-layout sample: layout, labels, sizes and grade-dependent lesions."""
import csv
import os

import numpy as np
import pytest
from PIL import Image

from datasets import kaggle_sample


def read_labels(dataset_dir):
    with open(os.path.join(dataset_dir, "trainLabels.csv"), newline="") as handle:
        return list(csv.reader(handle))


def test_sample_has_kaggle_layout_ordered_by_patient(tmp_path):
    written = kaggle_sample.write_kaggle_sample(str(tmp_path), 6, (300, 400), seed=1, with_test=True)
    rows = read_labels(str(tmp_path))
    assert rows[0] == ["image", "level"]
    assert [(name, int(level)) for name, level in rows[1:]] == written["train"]
    patients = [int(name.split("_")[0]) for name, _ in written["train"]]
    assert patients == sorted(patients) and patients[0] == 10
    assert [name.split("_")[1] for name, _ in written["train"]] == ["left", "right"] * 6
    assert sorted(os.listdir(tmp_path / "train")) == sorted(name + ".jpeg" for name, _ in written["train"])
    assert sorted(os.listdir(tmp_path / "test")) == sorted(name + ".jpeg" for name in written["test"])
    assert len(written["test"]) == 2 and not set(written["test"]) & {name for name, _ in written["train"]}


def test_images_are_wide_jpegs_with_black_corners_around_the_disc(tmp_path):
    written = kaggle_sample.write_kaggle_sample(str(tmp_path), 3, (300, 400), seed=2)
    for name, _ in written["train"]:
        image = Image.open(tmp_path / "train" / (name + ".jpeg"))
        assert image.format == "JPEG" and 300 <= image.width <= 400 and image.height < image.width
        pixels = np.asarray(image)
        corners = [pixels[:4, :4], pixels[:4, -4:], pixels[-4:, :4], pixels[-4:, -4:]]
        assert max(corner.max() for corner in corners) <= 20
        assert pixels[image.height // 2, image.width // 2].max() > 60


def test_same_seed_same_sample_and_both_eyes_usually_share_a_grade(tmp_path):
    first = kaggle_sample.write_kaggle_sample(str(tmp_path / "a"), 4, (200, 220), seed=3)
    second = kaggle_sample.write_kaggle_sample(str(tmp_path / "b"), 4, (200, 220), seed=3)
    assert first == second
    assert (tmp_path / "a/train/10_left.jpeg").read_bytes() == (tmp_path / "b/train/10_left.jpeg").read_bytes()
    eyes = kaggle_sample.draw_grade_grid(2000, np.random.default_rng(0))
    differences = np.array([abs(left - right) for left, right in eyes])
    assert differences.max() == 1 and 0.1 < differences.mean() < 0.3
    grades = np.bincount(np.ravel(eyes), minlength=5) / (2 * len(eyes))
    assert np.allclose(grades, kaggle_sample.DEFAULT_GRADE_WEIGHTS, atol=0.04)


def test_lesion_area_rises_with_grade():
    retina = kaggle_sample.load_retina().resize((400, 400))
    healthy = np.asarray(retina, dtype=int)

    def changed_fraction(grade):
        disc = retina.copy()
        kaggle_sample.draw_lesions(disc, grade, np.random.default_rng(grade))
        return (np.abs(np.asarray(disc, dtype=int) - healthy).max(axis=2) > 40).mean()

    fractions = [changed_fraction(grade) for grade in range(5)]
    assert fractions[0] == 0 and all(a < b for a, b in zip(fractions, fractions[1:]))


def test_kaggle_grade_distribution_option():
    assert kaggle_sample.grade_weights_from("kaggle") == (0.735, 0.069, 0.151, 0.025, 0.020)
    assert kaggle_sample.grade_weights_from("1,0,0,0,1") == (1, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="--grade_distribution=uniform: expected sample or kaggle"):
        kaggle_sample.grade_weights_from("uniform")
    grades = [grade for eyes in kaggle_sample.draw_grade_grid(4000, np.random.default_rng(0),
                                                              kaggle_sample.KAGGLE_GRADE_WEIGHTS) for grade in eyes]
    shares = np.bincount(grades, minlength=5) / len(grades)
    # Per patient Kaggle's shares; one eye in five moves a grade, which spreads them a little.
    assert shares[0] == pytest.approx(0.735, abs=0.04) and shares[2] > shares[1] > shares[4]
