"""Grad-CAM on a small network trained to find a lesion: the map lights up where the lesion is."""
import os

import numpy as np
from PIL import Image

from slim_compat import slim, tf
from datasets import dataset_factory
from evaluation import evaluate, heatmaps, predict
from tests.model_helpers import TEST_CONFIG, shared_train_dir
from tests.test_eval_image_classifier import read_events

SIZE = 32
LESION = 5


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


def test_overlay_keeps_the_image_size_and_colours_the_hot_region():
    image = np.full((20, 30, 3), -0.5, np.float32)
    image[0, 0] = 1.0
    cam = np.zeros((4, 6), np.float32)
    cam[1, 4] = 1.0
    picture = np.asarray(heatmaps.overlay(image, cam))
    assert picture.shape == (20, 30, 3)
    hot, cold = picture[6, 22], picture[18, 2]
    assert hot[0] > cold[0] + 50  # red where the map peaks


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
