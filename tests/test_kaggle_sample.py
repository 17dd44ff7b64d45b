"""The synthetic Kaggle-layout sample: layout, labels, sizes, grade-dependent lesions and camera types."""
import csv
import os

import numpy as np
import pytest
from PIL import Image, ImageFont

from datasets import kaggle_sample
from fundus.preparation import DEFAULT_CROP_THRESHOLD as CROP_THRESHOLD


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
    first = kaggle_sample.write_kaggle_sample(str(tmp_path / "a"), 4, (200, 220), seed=3, with_test=True)
    second = kaggle_sample.write_kaggle_sample(str(tmp_path / "b"), 4, (200, 220), seed=3, with_test=True)
    assert first == second
    files = sorted(os.path.relpath(os.path.join(folder, name), tmp_path / "a")
                   for folder, _, names in os.walk(tmp_path / "a") for name in names)
    assert len(files) == 2 + 10
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
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


# A moderate sample at test sizes: 32 patients plus 8 test patients, 80 photos.
CAMERA_SAMPLE_PATIENTS = 32


@pytest.fixture(scope="module")
def camera_sample(tmp_path_factory):
    """(folder, {image: DiscGeometry}, {image: pixels as decoded from the JPEG})."""
    dataset_dir = tmp_path_factory.mktemp("cameras")
    written = kaggle_sample.write_kaggle_sample(str(dataset_dir), CAMERA_SAMPLE_PATIENTS, (300, 400), seed=11,
                                                with_test=True)
    pixels = {}
    for name in written["geometry"]:
        split = "test" if name in written["test"] else "train"
        pixels[name] = np.asarray(Image.open(dataset_dir / split / (name + ".jpeg")))
    return dataset_dir, written["geometry"], pixels


def distance_from_rim(geometry, shape):
    """Per pixel, its centre's distance from the recorded circle (negative inside)."""
    y, x = np.mgrid[:shape[0], :shape[1]] + 0.5
    return np.hypot(x - geometry.centre_x, y - geometry.centre_y) - geometry.radius


def types(geometry):
    return geometry.camera.split("+")


def test_geometry_csv_records_every_photo_and_reads_back(camera_sample):
    dataset_dir, geometry, pixels = camera_sample
    assert kaggle_sample.read_geometry(str(dataset_dir)) == geometry
    assert len(geometry) == 2 * (CAMERA_SAMPLE_PATIENTS + CAMERA_SAMPLE_PATIENTS // 4)
    with open(dataset_dir / kaggle_sample.GEOMETRY_CSV, newline="") as handle:
        assert next(csv.reader(handle)) == ["image", "centre_x", "centre_y", "radius", "camera", "exposure"]


def test_every_camera_type_occurs_in_a_moderate_sample(camera_sample):
    _, geometry, _ = camera_sample
    counts = {kind: sum(kind in types(disc) for disc in geometry.values())
              for kind in ("3:2", "4:3", "clipped", "touching", "whole", "notch", "text", "dark", "bright")}
    assert min(counts.values()) >= 3, counts
    # The default mix: a third clipped, a sixth touching, a third notched, a fifth with text, 15 % dark or bright.
    assert 0.2 < counts["clipped"] / len(geometry) < 0.5 and 0.2 < counts["notch"] / len(geometry) < 0.5, counts


def test_clipped_discs_run_off_the_top_and_bottom_and_touching_ones_reach_them(camera_sample):
    _, geometry, pixels = camera_sample
    for name, disc in geometry.items():
        height = pixels[name].shape[0]
        lit = pixels[name].max(axis=2) > 40
        top_run, bottom_run = lit[0].sum(), lit[-1].sum()
        if "clipped" in types(disc):
            assert disc.centre_y - disc.radius <= -1 and disc.centre_y + disc.radius >= height + 1, name
            # The frame cuts a chord of the circle (at the rows' centres): as wide as the circle says.
            for row, run in ((0.5, top_run), (height - 0.5, bottom_run)):
                chord = 2 * np.sqrt(disc.radius ** 2 - (disc.centre_y - row) ** 2)
                assert abs(run - chord) <= 0.05 * chord + 3, (name, row, run, chord)
        elif "touching" in types(disc):
            assert disc.centre_y - disc.radius == 0 and disc.centre_y + disc.radius == height, name
            assert top_run >= 1 and bottom_run >= 1, name
        else:
            assert disc.centre_y - disc.radius >= 2 and disc.centre_y + disc.radius <= height - 2, name
            assert "text" in types(disc) or top_run == bottom_run == 0, name


def test_bright_pixels_lie_inside_the_recorded_circle_apart_from_text(camera_sample):
    """Beyond the reach of the rim's JPEG blocks (a 16x16 chroma block, 23 px on the diagonal) nothing is lit."""
    _, geometry, pixels = camera_sample
    for name, disc in geometry.items():
        brightest = pixels[name].max(axis=2)
        outside = (distance_from_rim(disc, brightest.shape) > 23) & (brightest > CROP_THRESHOLD)
        if "text" not in types(disc):
            assert not outside.any(), name
            continue
        rows, columns = np.nonzero(outside)
        height, width = brightest.shape
        # The label lies in one corner, well away from the frame's middle.
        assert rows.min() > 0.8 * height or rows.max() < 0.2 * height, name
        assert columns.min() > 0.5 * width or columns.max() < 0.5 * width, name


def test_the_rim_is_lit_inside_the_frame_apart_from_the_notch(camera_sample):
    _, geometry, pixels = camera_sample
    for name, disc in geometry.items():
        brightest = pixels[name].max(axis=2)
        rim = np.abs(distance_from_rim(disc, brightest.shape) + 2) < 0.5
        dark = (brightest[rim] <= 30).mean()
        if "notch" in types(disc):
            assert 0 < dark < 0.06, (name, dark)
        else:
            assert dark == 0, (name, dark)


def test_photos_are_exact_circles_on_a_background_at_most_the_crop_threshold():
    """Before JPEG: every pixel beyond the anti-aliased rim is noise at most 10, except the text."""
    retina = kaggle_sample.load_retina()
    rng = np.random.default_rng(5)
    for _ in range(12):
        camera = kaggle_sample.draw_camera(rng, (300, 400), kaggle_sample.CameraMix(text=0.5))
        photo = kaggle_sample.photograph(retina, 4, "left", rng, camera)
        brightest = photo.max(axis=2)
        distance = distance_from_rim(camera.geometry, brightest.shape)
        outside = brightest[distance > 1]
        if camera.label:
            label = camera.label
            x0, y0, x1, y1 = ImageFont.load_default(size=label.size).getbbox(label.text)
            outside = brightest[(distance > 1) & ~mask_of_box(brightest.shape, label.x + x0, label.y + y0,
                                                              label.x + x1, label.y + y1)]
            assert brightest[label.y + y0:label.y + y1, label.x + x0:label.x + x1].max() > 100
        assert outside.max() <= CROP_THRESHOLD
        assert brightest[(distance < -1) & (distance > -3)].min() > 30 or camera.notch


def mask_of_box(shape, left, top, right, bottom):
    mask = np.zeros(shape, bool)
    mask[top:bottom, left:right] = True
    return mask


def test_exposure_varies_within_a_third(camera_sample):
    _, geometry, pixels = camera_sample
    means = {name: pixels[name][distance_from_rim(disc, pixels[name].shape[:2]) < -0.3 * disc.radius, 1].mean()
             for name, disc in geometry.items()}
    dark = [means[name] for name, disc in geometry.items() if "dark" in types(disc)]
    bright = [means[name] for name, disc in geometry.items() if "bright" in types(disc)]
    assert max(dark) < min(bright)
    assert all(0.65 <= disc.exposure <= 1.35 for disc in geometry.values())
    # The green channel (never saturated) follows the recorded factor; lesions move it a little.
    ratios = [means[name] / disc.exposure for name, disc in geometry.items()]
    assert max(ratios) / min(ratios) < 1.25


def test_lesions_stay_inside_the_rows_the_frame_shows():
    retina = kaggle_sample.load_retina().resize((400, 400))
    healthy = np.asarray(retina, dtype=int)
    disc = retina.copy()
    kaggle_sample.draw_lesions(disc, 4, np.random.default_rng(0), visible_rows=(120, 279))
    changed_rows = np.flatnonzero((np.abs(np.asarray(disc, dtype=int) - healthy).max(axis=2) > 0).any(axis=1))
    assert changed_rows.size and changed_rows.min() >= 120 and changed_rows.max() <= 279
