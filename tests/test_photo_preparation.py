"""fundus.graph_preparation: the conversion's preparation in TensorFlow gives the conversion's pixels."""
import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from datasets import kaggle_sample
from fundus import preparation as fundus_preparation
from fundus import graph_preparation
from fundus import disc as fundus_disc
from slim_compat import tf
from tests.test_disc_geometry import camera_photo, round_retina  # noqa: F401  (a fixture)

IMAGE_SIZE = 96


def encode(pixels, image_format="JPEG"):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def prepare():
    """A function: (encoded image, graham) -> the uint8 image graph_preparation makes of it."""
    graph = tf.Graph()
    with graph.as_default():
        image_bytes = tf.placeholder(tf.string, [])
        prepared = {graham: graph_preparation.prepared_image(image_bytes, IMAGE_SIZE, crop_threshold=10, graham=graham)
                    for graham in (False, True)}
    session = tf.Session(graph=graph)
    yield lambda encoded, graham=False: session.run(prepared[graham], {image_bytes: encoded})
    session.close()


def conversion_pixels(encoded, tmp_path, graham=False):
    """What predict --image_dir feeds the model: fundus.preparation's JPEG, decoded by TensorFlow."""
    source, destination = str(tmp_path / "photo.jpeg"), str(tmp_path / "prepared.jpeg")
    with open(source, "wb") as handle:
        handle.write(encoded)
    fundus_preparation.preprocess_fundus(source, destination, IMAGE_SIZE, 10, graham=graham)
    with tf.Graph().as_default(), tf.Session() as session:
        return session.run(tf.io.decode_image(tf.io.read_file(destination), channels=3))


@pytest.mark.parametrize("width_range, seed, graham", [((300, 380), 0, False), ((500, 700), 1, False),
                                                       ((900, 1300), 2, False), ((500, 700), 1, True)])
def test_camera_photographs_are_prepared_pixel_for_pixel_as_the_conversion(prepare, tmp_path, width_range, seed,
                                                                           graham):
    """Photographs of growing size, decoded at growing DCT scales (twice the size kept on the short side); with
    --graham, Graham's normalisation too."""
    rng = np.random.default_rng(seed)
    photo = kaggle_sample.make_fundus_image(kaggle_sample.load_retina(), 3, "left", rng, width_range)
    encoded = encode(photo)
    np.testing.assert_array_equal(prepare(encoded, graham), conversion_pixels(encoded, tmp_path, graham))


def test_a_disc_filling_the_frame_is_decoded_again_finer_as_the_conversion(prepare, tmp_path):
    """A wide black frame sets a coarse first decode; the disc then needs the finer one."""
    rng = np.random.default_rng(3)
    disc = kaggle_sample.make_fundus_image(kaggle_sample.load_retina(), 2, "right", rng, (420, 440))
    frame = np.zeros((1600, 1600, 3), np.uint8)
    frame[20:20 + disc.shape[0], 40:40 + disc.shape[1]] = disc
    encoded = encode(frame)
    np.testing.assert_array_equal(prepare(encoded), conversion_pixels(encoded, tmp_path))


def test_an_image_of_the_prepared_size_is_only_decoded(prepare):
    prepared = np.random.default_rng(4).integers(0, 255, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for image_format in ("JPEG", "PNG"):
        encoded = encode(prepared, image_format)
        with tf.Graph().as_default(), tf.Session() as session:
            decoded = session.run(tf.io.decode_image(encoded, channels=3))
        np.testing.assert_array_equal(prepare(encoded), decoded)


def test_a_png_photograph_is_cropped_and_resized(prepare):
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[50:250, 100:300] = (200, 90, 40)
    prepared = prepare(encode(photo, "PNG"))
    assert prepared.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    # The black border is gone: the disc's colour reaches every edge (up to JPEG error).
    for edge in (prepared[0], prepared[-1], prepared[:, 0], prepared[:, -1]):
        np.testing.assert_allclose(edge.mean(axis=0), (200, 90, 40), atol=6)


def test_resize_is_pillows_bicubic():
    pixels = np.random.default_rng(5).integers(0, 255, (173, 251, 3), dtype=np.uint8)
    with tf.Graph().as_default(), tf.Session() as session:
        for size in (64, 200, 300):
            resized = session.run(graph_preparation.resize_bicubic(tf.constant(pixels), size))
            np.testing.assert_array_equal(resized, fundus_preparation.resize_bicubic(pixels, size), err_msg=str(size))


def test_gaussian_blur_is_pillows_box_blurs_pixel_for_pixel():
    """Graham's sigma at 96 and 299 px, and a wide blur whose boxes reach past a short side."""
    pixels = np.random.default_rng(6).integers(0, 255, (61, 173, 3), dtype=np.uint8)
    with tf.Graph().as_default(), tf.Session() as session:
        for sigma in (96 / 2 / 30, 299 / 2 / 30, 40.0):
            blurred = session.run(graph_preparation.gaussian_blur(tf.constant(pixels, tf.float64), sigma))
            expected = np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(sigma)))
            np.testing.assert_array_equal(blurred, expected, err_msg=str(sigma))


def test_graham_normalisation_of_a_retina_is_the_conversions_pixel_for_pixel(round_retina):
    pixels = fundus_preparation.resize_bicubic(np.uint8(round_retina), 299)
    with tf.Graph().as_default(), tf.Session() as session:
        normalised = session.run(graph_preparation.graham_normalise(tf.constant(pixels)))
    np.testing.assert_array_equal(normalised, fundus_preparation.graham_normalise(pixels))


@pytest.fixture(scope="module")
def prepare_photo():
    """A function: (encoded photo, crop mode, graham) -> (prepared uint8 image, quality dict) of graph_preparation."""
    graph = tf.Graph()
    with graph.as_default():
        image_bytes = tf.placeholder(tf.string, [])
        prepared = {(mode, graham): graph_preparation.prepared_photo(image_bytes, IMAGE_SIZE, 10, mode, graham)
                    for mode in fundus_preparation.CROP_MODES for graham in (False, True)}
    session = tf.Session(graph=graph)
    yield lambda encoded, mode, graham: session.run(prepared[mode, graham], {image_bytes: encoded})
    session.close()


def clipped_photo(round_retina, notch):
    """A 4:3 camera photo whose disc the frame cuts at the top and bottom (tests.test_disc_geometry)."""
    return camera_photo(round_retina, (486, 648), (330.0, 240.0), 280.0, notch=notch, text=notch)


@pytest.mark.parametrize("mode", fundus_preparation.CROP_MODES)
@pytest.mark.parametrize("notch", [False, True])
@pytest.mark.parametrize("graham", [False, True])
def test_clipped_discs_are_prepared_and_measured_as_the_conversion_does(prepare_photo, round_retina, tmp_path, mode,
                                                                        notch, graham):
    """With --graham the grey beyond the disc follows the frame's cut as the conversion's (disc_mask)."""
    encoded = encode(clipped_photo(round_retina, notch))
    source, destination = str(tmp_path / "photo.jpeg"), str(tmp_path / "prepared.jpeg")
    with open(source, "wb") as handle:
        handle.write(encoded)
    quality, _ = fundus_preparation.preprocess_fundus(source, destination, IMAGE_SIZE, 10, graham, mode)
    with tf.Graph().as_default(), tf.Session() as session:
        expected = session.run(tf.io.decode_image(tf.io.read_file(destination), channels=3))
    image, measured = prepare_photo(encoded, mode, graham)
    np.testing.assert_array_equal(image, expected)
    assert measured["gradable"] == quality.gradable and measured["disc_found"] == quality.disc_found
    for name in ("field", "exposure", "contrast", "sharpness"):
        assert measured[name] == pytest.approx(getattr(quality, name), rel=1e-9), name


def test_the_graph_finds_the_very_circle_numpy_finds(round_retina):
    pixels = clipped_photo(round_retina, notch=True)
    with tf.Graph().as_default(), tf.Session() as session:
        found = session.run(graph_preparation.find_disc(tf.constant(pixels), 10))
    assert tuple(found) == tuple(fundus_disc.find_disc(pixels, 10))
