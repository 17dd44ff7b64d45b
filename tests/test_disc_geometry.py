"""The disc as a circle: found from its edge on real fundus pixels, also clipped by the frame, and cropped
round, centred and of one size whatever the camera (crop mode "disc"); the book's stretch one flag away."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from datasets import kaggle_sample
from fundus import preparation as fundus_preparation
from fundus import disc as fundus_disc

THRESHOLD = fundus_preparation.DEFAULT_CROP_THRESHOLD
# skimage's retina cut to an exact circle (inside its own rim): the ground truth of every photo here.
RETINA_CENTRE, RETINA_RADIUS = 705.5, 680


@pytest.fixture(scope="module")
def round_retina():
    retina = np.asarray(kaggle_sample.load_retina())
    offsets = np.arange(retina.shape[0]) + 0.5 - RETINA_CENTRE
    inside = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= RETINA_RADIUS ** 2
    return retina * inside[:, :, None]


def camera_photo(round_retina, frame, centre, radius, notch=False, text=False):
    """A photo of `frame` (height, width) whose disc has `centre` (x, y) and `radius` in pixels."""
    factor = radius / RETINA_RADIUS
    side = int(round(round_retina.shape[0] * factor))
    disc = Image.fromarray(round_retina).resize((side, side), Image.BICUBIC)
    canvas = Image.new("RGB", (frame[1], frame[0]))
    canvas.paste(disc, (int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2))))
    draw = ImageDraw.Draw(canvas)
    if notch:  # a camera's notch: a small tab out of the rim at the top right
        angle = np.deg2rad(-40)
        x, y = centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)
        draw.rectangle([x - 0.03 * radius, y - 0.06 * radius, x + 0.05 * radius, y], fill=(150, 90, 50))
    if text:  # white text in the black corner, as some cameras print the date
        draw.text((10, frame[0] - 40), "2015-03-02 OD", fill=(255, 255, 255))
    return np.asarray(canvas)


def save(tmp_path, pixels, name="photo.jpeg"):
    path = str(tmp_path / name)
    Image.fromarray(pixels).save(path, format="JPEG", quality=92)
    return path


CAMERAS = {
    # frame (height, width), disc centre (x, y), radius: Kaggle's 4:3 and 3:2 frames
    "whole disc, 3:2": ((1296, 1944), (990.0, 640.0), 560.0),
    "clipped top and bottom, 4:3": ((972, 1296), (650.0, 484.0), 560.0),
    "clipped top and bottom, 3:2, off centre": ((864, 1296), (610.0, 420.0), 520.0),
    "clipped at the sides": ((1200, 1000), (500.0, 600.0), 540.0),
}


@pytest.mark.parametrize("camera", sorted(CAMERAS))
def test_the_disc_is_found_as_its_circle_whatever_the_frame_cuts(round_retina, camera):
    frame, centre, radius = CAMERAS[camera]
    found = fundus_disc.find_disc(camera_photo(round_retina, frame, centre, radius), THRESHOLD)
    assert found.found
    assert abs(found.centre_x - centre[0]) < 0.005 * radius and abs(found.centre_y - centre[1]) < 0.005 * radius
    assert abs(found.radius - radius) < 0.005 * radius


def test_a_notch_and_text_in_the_corner_do_not_move_the_circle(round_retina):
    frame, centre, radius = CAMERAS["clipped top and bottom, 4:3"]
    plain = fundus_disc.find_disc(camera_photo(round_retina, frame, centre, radius), THRESHOLD)
    marked = fundus_disc.find_disc(camera_photo(round_retina, frame, centre, radius, notch=True, text=True), THRESHOLD)
    assert marked.found
    assert np.allclose(marked[:3], plain[:3], atol=0.004 * radius)


def test_no_disc_is_found_in_a_black_frame_or_inside_a_disc():
    assert not fundus_disc.find_disc(np.zeros((300, 400, 3), np.uint8), THRESHOLD).found
    assert not fundus_disc.find_disc(np.full((300, 400, 3), 120, np.uint8), THRESHOLD).found


@pytest.mark.parametrize("camera", sorted(CAMERAS))
def test_the_prepared_disc_is_round_centred_and_fills_the_square(round_retina, tmp_path, camera):
    frame, centre, radius = CAMERAS[camera]
    destination = str(tmp_path / "prepared.jpeg")
    fundus_preparation.preprocess_fundus(save(tmp_path, camera_photo(round_retina, frame, centre, radius, notch=True)),
                                         destination, image_size=200)
    ratio, centre_x, centre_y, diameter = fundus_disc.fitted_ellipse(np.asarray(Image.open(destination)), THRESHOLD)
    assert ratio <= 1.02
    assert abs(centre_x - 100) <= 0.02 * 200 and abs(centre_y - 100) <= 0.02 * 200
    assert abs(diameter - 200) <= 0.02 * 200


def test_book_mode_keeps_the_books_stretch_of_a_clipped_disc(round_retina, tmp_path):
    frame, centre, radius = CAMERAS["clipped top and bottom, 4:3"]
    source = save(tmp_path, camera_photo(round_retina, frame, centre, radius))
    destination = str(tmp_path / "book.jpeg")
    fundus_preparation.preprocess_fundus(source, destination, image_size=200, crop_mode="book")
    book = np.asarray(Image.open(destination))
    # The bounding box (972 high, 1120 wide) squeezed into a square: the disc becomes a tall oval.
    assert fundus_disc.fitted_ellipse(book, THRESHOLD)[0] > 1.1


def test_parts_of_the_square_outside_the_frame_are_black(round_retina, tmp_path):
    frame, centre, radius = CAMERAS["clipped top and bottom, 4:3"]
    photo = save(tmp_path, camera_photo(round_retina, frame, centre, radius))
    crop = fundus_preparation.load_cropped_fundus(photo, 200)
    square = np.asarray(crop.image)
    side = square.shape[0]
    # The frame ends 484 px above and 488 px below the centre of a 1120 px disc (at the decode's scale).
    cut = int(side * (560 - 484) / 1120) - 2
    assert square[:cut].max() <= THRESHOLD and square[-cut:].max() <= THRESHOLD
    assert square[cut + 6:side - cut - 6, side // 2].min(axis=1).max() > 40


def test_graham_greys_everything_but_the_disc_inside_the_frame(round_retina, tmp_path):
    frame, centre, radius = CAMERAS["clipped top and bottom, 4:3"]
    destination = str(tmp_path / "graham.jpeg")
    fundus_preparation.preprocess_fundus(save(tmp_path, camera_photo(round_retina, frame, centre, radius)), destination,
                                         image_size=200, graham=True)
    normalised = np.asarray(Image.open(destination), dtype=float)
    # Rows beyond the frame's cut (and the margin the blur bleeds into) are grey, not a black band.
    cut = int(200 * (560 - 484) / 1120) + 200 // 20
    # (apart from the JPEG block next to the disc, which rings)
    assert np.abs(normalised[:cut - 8] - fundus_preparation.GRAHAM_GREY).max() <= 4
    assert np.abs(normalised[-(cut - 8):] - fundus_preparation.GRAHAM_GREY).max() <= 4
    assert normalised[cut + 10:200 - cut - 10, 60:140].std() > 3
