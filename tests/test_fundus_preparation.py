"""Fundus preprocessing on the real retina photograph: crop bounds, reduced decode, bad files."""
import io
import resource

import numpy as np
import pytest
from PIL import Image

from datasets import kaggle_sample
from fundus import preparation as fundus_preparation

THRESHOLD = fundus_preparation.DEFAULT_CROP_THRESHOLD
CANVAS_SHAPE = (1700, 2300, 3)
OFFSET = (137, 411)


@pytest.fixture(scope="module")
def retina():
    return np.asarray(kaggle_sample.load_retina())


@pytest.fixture(scope="module")
def retina_on_canvas(retina):
    canvas = np.zeros(CANVAS_SHAPE, dtype=np.uint8)
    canvas[OFFSET[0]:OFFSET[0] + retina.shape[0], OFFSET[1]:OFFSET[1] + retina.shape[1]] = retina
    return canvas


def bright_bounds(image, threshold=THRESHOLD):
    """(top, bottom, left, right) of the pixels brighter than threshold in any channel."""
    points = np.argwhere((image > threshold).any(axis=2))
    (top, left), (bottom, right) = points.min(axis=0), points.max(axis=0)
    return top, bottom + 1, left, right + 1


def write_jpeg(tmp_path, pixels, name="image.jpeg", quality=95):
    path = str(tmp_path / name)
    Image.fromarray(pixels).save(path, format="JPEG", quality=quality)
    return path


def psnr(first, second):
    error = np.mean((first.astype(float) - second.astype(float)) ** 2)
    return 10 * np.log10(255.0 ** 2 / error)


def test_crop_finds_the_retina_at_its_offset_on_a_black_canvas(retina, retina_on_canvas):
    top, bottom, left, right = bright_bounds(retina)
    expected = (OFFSET[0] + top, OFFSET[0] + bottom, OFFSET[1] + left, OFFSET[1] + right)
    assert fundus_preparation.black_border_box(retina_on_canvas) == expected
    cropped = fundus_preparation.crop_black_borders(retina_on_canvas)
    np.testing.assert_array_equal(cropped, retina_on_canvas[expected[0]:expected[1], expected[2]:expected[3]])
    assert cropped.shape[0] > 0.95 * retina.shape[0]


def test_crop_threshold_is_inclusive_and_dark_rows_inside_are_kept():
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    image[5, 7, 2] = THRESHOLD
    image[10, 12, 1] = THRESHOLD + 1
    image[30, 40, 0] = THRESHOLD + 1
    assert fundus_preparation.black_border_box(image) == (10, 31, 12, 41)
    assert fundus_preparation.crop_black_borders(image).shape == (21, 29, 3)


def test_all_black_image_is_kept_uncropped_not_one_pixel():
    image = np.full((30, 40, 3), THRESHOLD, dtype=np.uint8)
    assert fundus_preparation.black_border_box(image) is None
    assert fundus_preparation.crop_black_borders(image).shape == (30, 40, 3)


def test_reduced_decode_keeps_its_margin_over_the_target_and_matches_the_full_decode(tmp_path, retina_on_canvas):
    path = write_jpeg(tmp_path, retina_on_canvas)
    image_size = 150
    crop = fundus_preparation.load_cropped_fundus(path, image_size, crop_mode="book")
    reduced = np.asarray(crop.image)
    naive = fundus_preparation.crop_black_borders(np.asarray(Image.open(path)))
    assert not crop.all_black
    # Scale 8 would leave the 1,4xx-pixel disc under 1.75 x 150 pixels; 4 keeps it above.
    assert min(reduced.shape[:2]) >= fundus_preparation.MIN_DECODE_FACTOR * image_size
    assert abs(reduced.shape[0] - naive.shape[0] / 4) <= 2 and abs(reduced.shape[1] - naive.shape[1] / 4) <= 2
    resize = fundus_preparation.resize_bicubic
    assert psnr(resize(reduced, image_size), resize(naive, image_size)) >= 35


def test_small_images_are_decoded_at_full_size(tmp_path, retina):
    path = write_jpeg(tmp_path, retina)
    cropped = np.asarray(fundus_preparation.load_cropped_fundus(path, image_size=400, crop_mode="book").image)
    book_crop = fundus_preparation.crop_black_borders(np.asarray(Image.open(path)))
    np.testing.assert_array_equal(cropped.shape, book_crop.shape)


def test_preprocess_writes_a_square_jpeg_and_reports_an_all_black_image(tmp_path, retina):
    destination = str(tmp_path / "out" / "3" / "10_left.jpeg")
    quality, warning = fundus_preparation.preprocess_fundus(write_jpeg(tmp_path, retina), destination, image_size=64)
    assert warning is None and quality.gradable
    with Image.open(destination) as written:
        assert (written.format, written.size) == ("JPEG", (64, 64))
    black = write_jpeg(tmp_path, np.zeros((300, 400, 3), dtype=np.uint8), "black.jpeg")
    quality, warning = fundus_preparation.preprocess_fundus(black, str(tmp_path / "black_out.jpeg"), image_size=64)
    assert "kept uncropped" in warning and not quality.gradable
    assert sorted(path.name for path in (tmp_path / "out" / "3").iterdir()) == ["10_left.jpeg"]


def jpeg_header_claiming(width, height):
    encoded = io.BytesIO()
    Image.new("RGB", (16, 16)).save(encoded, format="JPEG")
    data = bytearray(encoded.getvalue())
    start_of_frame = data.find(b"\xff\xc0")
    data[start_of_frame + 5:start_of_frame + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("width, height", [(30000, 30000), (12000, 9000)])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, width, height):
    path = tmp_path / "bomb.jpeg"
    path.write_bytes(jpeg_header_claiming(width, height))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(fundus_preparation.BadImageError, match="decompression bomb"):
        fundus_preparation.load_cropped_fundus(str(path))
    # ru_maxrss is in KiB: decoding would need width * height * 3 bytes, gigabytes here.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100 * 1024


def test_truncated_png_and_non_image_files_are_bad_images(tmp_path, retina):
    whole = open(write_jpeg(tmp_path, retina[:400, :400], "whole.jpeg"), "rb").read()
    (tmp_path / "truncated.jpeg").write_bytes(whole[:len(whole) // 2])
    Image.fromarray(retina[:50, :50]).save(tmp_path / "png.jpeg", format="PNG")
    (tmp_path / "text.jpeg").write_text("not an image")
    expected = {"truncated.jpeg": "corrupt or truncated", "png.jpeg": "not a JPEG but PNG",
                "text.jpeg": "not a readable image"}
    for name, problem in expected.items():
        with pytest.raises(fundus_preparation.BadImageError, match=problem):
            fundus_preparation.load_cropped_fundus(str(tmp_path / name), image_size=64)


def test_graham_normalisation_removes_illumination_keeps_lesions_and_greys_the_rim():
    side = 120
    rows, columns = np.mgrid[:side, :side]
    # A disc lit from the left (red 120..220 across it), with one small dark spot.
    lighting = 120 + 100 * columns / side
    pixels = np.stack([lighting, 0.45 * lighting, 0.2 * lighting], axis=-1)
    pixels[58:62, 80:84] = (40, 10, 5)
    normalised = fundus_preparation.graham_normalise(np.uint8(pixels)).astype(float)
    radius = side / 2
    distance = np.hypot(rows + 0.5 - radius, columns + 0.5 - radius)
    inside = (distance < 0.8 * radius) & ~((abs(rows - 60) < 8) & (abs(columns - 82) < 8))
    # The smooth lighting gradient is gone: the disc is grey within a few levels everywhere.
    assert np.abs(normalised[inside] - 128).max() < 12
    assert normalised[58:62, 80:84].mean() < 60  # the spot stands out, darker than its surroundings
    assert np.all(normalised[distance > 0.92 * radius] == 128)


def test_data_utils_offers_the_preparations_public_names_as_the_same_objects():
    import data_utils

    for name in ("load_cropped_fundus", "prepare_fundus", "preprocess_fundus", "crop_black_borders",
                 "graham_normalise", "BadImageError", "DEFAULT_CROP_THRESHOLD", "DEFAULT_SETTINGS", "CROP_MODES"):
        assert getattr(data_utils, name) is getattr(fundus_preparation, name), name
