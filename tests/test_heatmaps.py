"""Grad-CAM on networks driven by a lesion: the map lights up where it is, at 128 and 299 px, kept to the disc."""
import functools
import os

import numpy as np
import pytest
from PIL import Image

from slim_compat import slim, tf
from datasets import dataset_factory
from evaluation import evaluate, predict
from inference import heatmaps
from nets import nets_factory
from tests.model_helpers import TEST_CONFIG, shared_train_dir
from tests.test_eval_image_classifier import read_events

SIZE = 32
LESION = 5
# A fundus at any size, in the networks' [-1, 1] range: orange disc, a yellow (exudate-like) lesion 1/16 of the
# side, a white date stamp in the black corner as cameras print it.
DISC_COLOUR, LESION_COLOUR = (0.8, 0.4, 0.15), (0.95, 0.85, 0.3)
LESION_SHARE = 16


def fundus_with_lesion(rng, lesion):
    """An orange disc with mild noise; with `lesion`, a yellow (exudate-like) square at a random place on it."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc = (yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < (SIZE / 2 - 1) ** 2
    image = np.zeros((SIZE, SIZE, 3), np.float32)
    image[disc] = (0.8, 0.4, 0.15)
    image += rng.normal(0, 0.03, image.shape)
    box = None
    if lesion:
        top, left = rng.integers(8, SIZE - 8 - LESION, 2)
        image[top:top + LESION, left:left + LESION] = (0.95, 0.85, 0.3)
        box = (top, left)
    return image, box


def lesion_batch(rng, count):
    images, labels = zip(*[(fundus_with_lesion(rng, label)[0], label) for label in rng.integers(0, 2, count)])
    return np.stack(images), np.array(labels)


def small_network(images):
    """Two 3x3 convolutions at full resolution, global average pooling, two logits."""
    with slim.arg_scope([slim.conv2d], activation_fn=tf.nn.relu):
        net = slim.conv2d(images, 8, [3, 3], scope="conv1")
        features = slim.conv2d(net, 16, [3, 3], scope="conv2")
    logits = slim.fully_connected(tf.reduce_mean(features, axis=[1, 2]), 2, activation_fn=None, scope="logits")
    return logits, features


def test_grad_cam_of_a_trained_network_highlights_the_lesion():
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        images = tf.placeholder(tf.float32, [None, SIZE, SIZE, 3])
        labels = tf.placeholder(tf.int64, [None])
        logits, features = small_network(images)
        loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        train = tf.train.AdamOptimizer(0.003).minimize(loss)
        cams = heatmaps.grad_cam(logits, features, tf.argmax(logits, axis=1))
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for _ in range(400):
                batch, batch_labels = lesion_batch(rng, 32)
                session.run(train, {images: batch, labels: batch_labels})
            test_images, test_labels = lesion_batch(rng, 64)
            accuracy = np.mean(session.run(tf.argmax(logits, axis=1), {images: test_images}) == test_labels)
            assert accuracy > 0.9  # the network did learn to find lesions
            shown = [fundus_with_lesion(rng, True) for _ in range(8)]
            maps = session.run(cams, {images: np.stack([image for image, _ in shown])})
    for (image, (top, left)), cam in zip(shown, maps):
        heat = heatmaps.upsample(cam, (SIZE, SIZE))
        region = np.zeros((SIZE, SIZE), bool)
        region[max(top - 2, 0):top + LESION + 2, max(left - 2, 0):left + LESION + 2] = True
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        assert region[peak], (peak, top, left)
        assert heat[region].mean() > 3 * heat[~region].mean()


@functools.lru_cache()
def inscribed_disc(size):
    offsets = np.arange(size) + 0.5 - size / 2
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= (size / 2 - 1) ** 2


def stamp_box(size):
    return slice(size - size // 16, size - size // 32), slice(size // 32, size // 6)


def photo_with_lesion(rng, size, lesion=True, stamp=True):
    """Returns (a [-1, 1] photo of `size`, the lesion's (top, left, side) or None)."""
    image = inscribed_disc(size)[..., None] * (np.array(DISC_COLOUR, np.float32)
                                               + 0.03 * rng.standard_normal((size, size, 3), np.float32))
    if stamp:
        image[stamp_box(size)] = 1.0
    box = None
    if lesion:
        side = size // LESION_SHARE
        while box is None:
            top, left = rng.integers(0, size - side, 2)
            if np.hypot(top + side / 2 - size / 2, left + side / 2 - size / 2) < 0.4 * size:
                box = (int(top), int(left), side)
        image[top:top + side, left:left + side] = LESION_COLOUR
    return np.clip(image, 0, 1) * 2 - 1, box


def yellow_network(images):
    """A network whose "lesion" logit is the amount of yellow in the photo: a yellow detector (green above the
    disc's), then four 3x3 stride-2 averaging convolutions (Inception's downsampling: the last map is 3x3 at
    128 px and 8x8 at 299 px), global average pooling. Returns (logits, end points in depth order)."""
    detector = np.zeros([3, 3, 3, 1], np.float32)
    detector[:, :, 1, 0] = 1 / 9
    average = np.full([3, 3, 1, 1], 1 / 9, np.float32)
    end_points, net = {}, images
    with slim.arg_scope([slim.conv2d], activation_fn=tf.nn.relu, padding="VALID", stride=2):
        for index, kernel, bias in ((1, detector, -0.5), (2, average, 0.0), (3, average, 0.0), (4, average, 0.0),
                                    (5, average, 0.0)):
            net = end_points[f"conv{index}"] = slim.conv2d(
                net, 1, [3, 3], scope=f"conv{index}", weights_initializer=tf.constant_initializer(kernel),
                biases_initializer=tf.constant_initializer(bias))
    logits = slim.fully_connected(tf.reduce_mean(net, axis=[1, 2]), 2, activation_fn=None, scope="logits",
                                  weights_initializer=tf.constant_initializer([[0.0, 1000.0]]))
    return logits, end_points


def near(box, peak, margin):
    top, left, side = box
    return top - margin <= peak[0] < top + side + margin and left - margin <= peak[1] < left + side + margin


@pytest.mark.parametrize("size, chosen", [(128, "conv3"), (299, "conv5")])
def test_grad_cam_at_the_deepest_map_of_8x8_peaks_on_the_lesion_and_stays_on_the_disc(size, chosen):
    rng = np.random.default_rng(size)
    shown = [photo_with_lesion(rng, size) for _ in range(6)]
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, size, size, 3])
        logits, end_points = yellow_network(images)
        features = heatmaps.feature_map(end_points)
        # The deepest map at least 8x8: 15x15 at 128 px (the last, 3x3, is too coarse), the last one at 299 px.
        assert features is end_points[chosen] and min(features.shape.as_list()[1:3]) >= heatmaps.MIN_CAM_SIDE
        predicted = tf.argmax(logits, axis=1)
        cams = heatmaps.grad_cam(logits, features, predicted)
        last_cams = heatmaps.grad_cam(logits, end_points["conv5"], predicted)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            grades, maps, last_maps = session.run([predicted, cams, last_cams],
                                                  {images: np.stack([image for image, _ in shown])})
            plain = session.run(predicted, {images: photo_with_lesion(rng, size, lesion=False, stamp=False)[0][None]})
    assert list(grades) == [1] * len(shown) and list(plain) == [0]  # yellow drives the score
    cell = size / features.shape.as_list()[1]
    misses_at_the_last_map = 0
    for (image, box), cam, last_cam in zip(shown, maps, last_maps):
        photo = heatmaps.displayable(image)
        heat, mask = heatmaps.disc_heat(photo, cam), heatmaps.disc_mask(photo)
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        assert near(box, peak, cell), (peak, box)
        region = np.zeros(heat.shape, bool)
        region[max(box[0] - int(cell), 0):box[0] + box[2] + int(cell), max(box[1] - int(cell), 0):
               box[1] + box[2] + int(cell)] = True
        assert heat[region].mean() > 5 * heat[mask & ~region].mean()
        # Kept to the disc: the stamp, which the network sees as yellow too, lights up in the raw map only.
        assert not mask[stamp_box(size)].any() and heat[~mask].max() == 0
        assert heatmaps.upsample(cam, (size, size))[stamp_box(size)].max() > 0.4
        last = heatmaps.disc_heat(photo, last_cam)
        misses_at_the_last_map += not near(box, np.unravel_index(np.argmax(last), last.shape), cell)
    if size == 128:
        assert misses_at_the_last_map >= len(shown) // 2  # why the last map (Mixed_7c's 2x2 there) is not taken


@pytest.mark.slow
def test_feature_map_of_inception_v3_is_mixed_5d_at_128_and_mixed_7c_at_299():
    for size, name in ((128, "Mixed_5d"), (299, "Mixed_7c")):
        with tf.Graph().as_default():
            _, end_points = nets_factory.get_network_fn("inception_v3", num_classes=5)(tf.zeros([1, size, size, 3]))
            assert heatmaps.feature_map(end_points) is end_points[name]


def test_disc_mask_follows_a_clipped_disc_and_leaves_the_corners_out():
    size = 128
    image = inscribed_disc(size)[..., None] * np.array(DISC_COLOUR, np.float32)
    image[:20] = image[-20:] = 0  # the frame cut the disc at the top and bottom
    image[22:26, :8] = 1.0  # text in the black corner
    mask = heatmaps.disc_mask(heatmaps.displayable(image))
    assert not mask[:20].any() and not mask[-20:].any() and not mask[22:26, :8].any()
    assert mask[20:-20][inscribed_disc(size)[20:-20]].all()


def test_overlay_keeps_the_image_size_and_colours_the_hot_region_of_the_disc():
    image = inscribed_disc(40)[..., None] * np.array(DISC_COLOUR, np.float32) * 2 - 1
    cam = np.zeros((4, 4), np.float32)
    cam[1, 2] = 1.0
    cam[3, 0] = 1.0  # mostly the black corner
    picture = np.asarray(heatmaps.overlay(image, cam)).astype(int)
    photo = heatmaps.displayable(image).astype(int)
    assert picture.shape == (40, 40, 3)
    assert np.abs(picture[15, 25] - photo[15, 25]).max() > 40  # coloured where the map peaks
    assert np.abs(picture[20, 8] - photo[20, 8]).max() < 5
    assert picture[39, 0].tolist() == [0, 0, 0]  # off the disc nothing is drawn


@pytest.mark.slow
def test_predict_writes_one_heatmap_per_image(tiny_diabetic_dir, tmp_path_factory, tmp_path):
    train_dir = shared_train_dir(tmp_path_factory)
    split_input = evaluate.dataset_input(dataset_factory.get_dataset("diabetic", "test", tiny_diabetic_dir), 5, 4)
    heatmap_dir = str(tmp_path / "heatmaps")
    predictions = predict.predict(os.path.join(train_dir, "model.ckpt-2"), TEST_CONFIG, split_input.make_batches,
                                  split_input.num_samples, str(tmp_path / "submission.csv"),
                                  heatmap_dir=heatmap_dir)
    written = sorted(os.listdir(heatmap_dir))
    assert written == sorted(f"{name}_grade{grade}.png" for name, grade in zip(predictions.filenames,
                                                                               predictions.grades))
    with Image.open(os.path.join(heatmap_dir, written[0])) as picture:
        assert picture.size == (TEST_CONFIG.image_size, TEST_CONFIG.image_size) and picture.mode == "RGB"


@pytest.mark.slow
def test_eval_puts_a_few_heatmaps_into_tensorboard(tiny_diabetic_dir, tmp_path_factory, tmp_path):
    train_dir = shared_train_dir(tmp_path_factory)
    split_input = evaluate.dataset_input(dataset_factory.get_dataset("diabetic", "validation", tiny_diabetic_dir),
                                         5, 4)
    evaluate.evaluate(os.path.join(train_dir, "model.ckpt-2"), split_input, TEST_CONFIG, str(tmp_path),
                      num_heatmaps=2)
    events = read_events(str(tmp_path))
    assert sorted(tag for tag, step in events if "GradCAM" in tag and step == 2) == ["eval/GradCAM/0",
                                                                                     "eval/GradCAM/1"]
    image = events[("eval/GradCAM/0", 2)].image
    assert (image.width, image.height) == (TEST_CONFIG.image_size, TEST_CONFIG.image_size)
