"""evaluation.photo_preparation: the conversion's preparation in TensorFlow gives the conversion's pixels."""
import io

import numpy as np
import pytest
from PIL import Image

import data_utils
from datasets import kaggle_sample
from evaluation import photo_preparation
from slim_compat import tf

IMAGE_SIZE = 96


def encode(pixels, image_format="JPEG"):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def prepare():
    """A function: encoded image -> the uint8 image photo_preparation makes of it."""
    graph = tf.Graph()
    with graph.as_default():
        image_bytes = tf.placeholder(tf.string, [])
        prepared = photo_preparation.prepared_image(image_bytes, IMAGE_SIZE, crop_threshold=10)
    session = tf.Session(graph=graph)
    yield lambda encoded: session.run(prepared, {image_bytes: encoded})
    session.close()


def conversion_pixels(encoded, tmp_path):
    """What predict --image_dir feeds the model: data_utils' JPEG, decoded by TensorFlow."""
    source, destination = str(tmp_path / "photo.jpeg"), str(tmp_path / "prepared.jpeg")
    with open(source, "wb") as handle:
        handle.write(encoded)
    data_utils.preprocess_fundus(source, destination, IMAGE_SIZE, 10)
    with tf.Graph().as_default(), tf.Session() as session:
        return session.run(tf.io.decode_image(tf.io.read_file(destination), channels=3))


@pytest.mark.parametrize("width_range, seed", [((300, 380), 0), ((500, 700), 1), ((900, 1300), 2)])
def test_camera_photographs_are_prepared_pixel_for_pixel_as_the_conversion(prepare, tmp_path, width_range, seed):
    """Photographs of growing size, decoded at growing DCT scales (twice the size kept on the short side)."""
    rng = np.random.default_rng(seed)
    photo = kaggle_sample.make_fundus_image(kaggle_sample.load_retina(), 3, "left", rng, width_range)
    encoded = encode(photo)
    np.testing.assert_array_equal(prepare(encoded), conversion_pixels(encoded, tmp_path))


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
            resized = session.run(photo_preparation.resize_bicubic(tf.constant(pixels), size))
            np.testing.assert_array_equal(resized, data_utils.resize_bicubic(pixels, size), err_msg=str(size))
