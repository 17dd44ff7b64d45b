"""Preprocessing functions and the tf.data input pipeline on real diabetic TFRecords."""
import io
import math
import os

import numpy as np
import pytest
from PIL import Image

from datasets import dataset_factory, dataset_utils, input_pipeline
from preprocessing import fundus_preprocessing, preprocessing_factory
from slim_compat import tf
from tests.conftest import TINY_SPLITS


def run(tensor):
    with tf.Session() as session:
        return session.run(tensor)


def bordered_image(size=64, border=4):
    """Blue square with a red `border`: the eval central crop of 87.5 % removes exactly the border."""
    image = np.zeros((size, size, 3), np.uint8)
    image[...] = (255, 0, 0)
    image[border:-border, border:-border] = (0, 0, 255)
    return image


def test_inception_eval_crops_the_centre_and_scales_to_symmetric_range():
    with tf.Graph().as_default():
        out = run(preprocessing_factory.get_preprocessing("inception_v3")(tf.constant(bordered_image()), 32, 32))
    assert out.shape == (32, 32, 3)
    np.testing.assert_allclose(out[..., 0], -1.0, atol=1e-6)
    np.testing.assert_allclose(out[..., 2], 1.0, atol=1e-6)


def test_inception_train_output_is_random_and_in_range():
    with tf.Graph().as_default():
        image = preprocessing_factory.get_preprocessing("inception_v3", is_training=True)(
            tf.constant(bordered_image()), 32, 32, add_image_summaries=False)
        with tf.Session() as session:
            first, second = session.run(image), session.run(image)
    assert first.shape == (32, 32, 3) and first.min() >= -1.0 and first.max() <= 1.0
    assert not np.array_equal(first, second)


def test_vgg_eval_subtracts_the_imagenet_means():
    with tf.Graph().as_default():
        out = run(preprocessing_factory.get_preprocessing("vgg_16")(tf.fill([300, 400, 3], tf.constant(128, tf.uint8)),
                                                                     224, 224))
    np.testing.assert_allclose(out[0, 0], [128 - 123.68, 128 - 116.78, 128 - 103.94], rtol=1e-5)


def test_fundus_rotation_by_a_right_angle_is_a_quarter_turn():
    image = np.random.default_rng(0).random((9, 9, 3)).astype(np.float32)
    with tf.Graph().as_default():
        rotated = run(fundus_preprocessing.rotate(tf.constant(image), tf.constant(math.pi / 2)))
    # Counter-clockwise on screen, like np.rot90.
    np.testing.assert_allclose(rotated, np.rot90(image), atol=1e-5)


def fundus_photo(size=96):
    from tests.conftest import draw_tiny_fundus
    return np.array(Image.open(io.BytesIO(draw_tiny_fundus(2, np.random.default_rng(0), size))))


def disc_fraction(image):
    """Share of disc pixels (in [-1, 1]): far above the background, even after brightness/contrast jitter."""
    return (image.max(axis=-1) > -0.3).mean()


def test_fundus_eval_keeps_the_whole_disc_and_training_never_crops_it():
    photo = fundus_photo()
    original = disc_fraction(photo / 127.5 - 1.0)
    with tf.Graph().as_default():
        evaluated = run(preprocessing_factory.get_preprocessing("fundus")(tf.constant(photo), 96, 96))
        trained = preprocessing_factory.get_preprocessing("fundus", is_training=True)(tf.constant(photo), 96, 96)
        with tf.Session() as session:
            samples = [session.run(trained) for _ in range(8)]
    assert abs(disc_fraction(evaluated) - original) < 0.01
    # Rotations and flips move the disc about its centre but never cut it.
    assert all(abs(disc_fraction(sample) - original) < 0.03 for sample in samples)
    assert all(sample.min() >= -1.0 and sample.max() <= 1.0 for sample in samples)
    assert len({sample.tobytes() for sample in samples}) == len(samples)


def test_unknown_preprocessing_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Preprocessing name \[fisheye\] was not recognized"):
        preprocessing_factory.get_preprocessing("fisheye")


def read_eval_pass(dataset_dir, split="validation", batch_size=4):
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", split, dataset_dir)
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("fundus"), 32,
                                             batch_size, is_training=False)
        assert batch["images"].shape.as_list() == [None, 32, 32, 3]
        batches = []
        with tf.Session() as session:
            with pytest.raises(tf.errors.OutOfRangeError):
                while True:
                    batches.append(session.run(batch))
    return batches


def test_evaluation_reads_each_example_exactly_once_in_a_fixed_order(tiny_diabetic_dir):
    first, second = read_eval_pass(tiny_diabetic_dir), read_eval_pass(tiny_diabetic_dir)
    assert [len(batch["labels"]) for batch in first] == [4, 4, 2]
    filenames = [name for batch in first for name in batch["filenames"]]
    assert len(filenames) == len(set(filenames)) == TINY_SPLITS["validation"]
    assert filenames == [name for batch in second for name in batch["filenames"]]
    assert all(batch["images"].dtype == np.float32 for batch in first)


def test_training_batches_are_full_endless_and_shuffled(tiny_diabetic_dir):
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir)
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("inception", True), 32,
                                             5, is_training=True, num_readers=2, seed=0)
        assert batch["images"].shape.as_list() == [5, 32, 32, 3]
        with tf.Session() as session:
            epochs = [session.run(batch["filenames"]) for _ in range(8)]
    filenames = [name.decode() for name in np.concatenate(epochs)]
    # 40 examples from a split of 16: it repeats; the order is not the shards' order.
    shard_order = [name.decode() for batch in read_eval_pass(tiny_diabetic_dir, "train")
                   for name in batch["filenames"]]
    assert len(filenames) == 40 and set(filenames) <= set(shard_order)
    assert filenames[:16] != shard_order


def write_records(dataset_dir, examples):
    """Writes `diabetic_train_00000-of-00001.tfrecord` from (encoded image, format, label) triples."""
    path = os.path.join(dataset_dir, "diabetic_train_00000-of-00001.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for index, (encoded, image_format, label) in enumerate(examples):
            writer.write(dataset_utils.image_to_tfexample(encoded, image_format, 8, 8, label,
                                                          f"{index}_left").SerializeToString())
    dataset_utils.write_split_sizes({"train": len(examples)}, dataset_dir)


def encode(mode, image_format):
    buffer = io.BytesIO()
    Image.new(mode, (8, 8), 200 if mode == "L" else (200, 100, 50)).save(buffer, format=image_format)
    return buffer.getvalue()


def test_png_and_grayscale_images_decode_to_three_channels(tmp_path):
    write_records(str(tmp_path), [(encode("RGB", "PNG"), b"png", 1), (encode("L", "PNG"), b"png", 2),
                                  (encode("RGB", "JPEG"), b"jpg", 3)])
    batches = read_eval_pass(str(tmp_path), split="train")
    assert batches[0]["images"].shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(batches[0]["labels"], [1, 2, 3])


def test_balanced_sampling_draws_rare_classes_as_often_as_common_ones(tmp_path):
    labels = [0] * 40 + [1] * 4 + [2] * 2
    write_records(str(tmp_path), [(encode("RGB", "JPEG"), b"jpg", label) for label in labels])
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "train", str(tmp_path))
        assert input_pipeline.count_labels(dataset, 5) == [40, 4, 2, 0, 0]
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("fundus", True), 16,
                                             30, is_training=True, seed=0, balanced_labels=[0, 1, 2])
        with tf.Session() as session:
            drawn = np.concatenate([session.run(batch["labels"]) for _ in range(10)])
    shares = np.bincount(drawn, minlength=3) / len(drawn)
    np.testing.assert_allclose(shares, [1 / 3] * 3, atol=0.08)


def test_sampling_schedule_moves_from_balanced_to_the_split_frequencies(tmp_path):
    labels = [0] * 40 + [1] * 4 + [2] * 2
    write_records(str(tmp_path), [(encode("RGB", "JPEG"), b"jpg", label) for label in labels])
    frequencies = (40 / 46, 4 / 46, 2 / 46)
    schedule = input_pipeline.SamplingSchedule(frequencies, num_examples=1600, end_mix=0.0)
    np.testing.assert_allclose(schedule.probabilities(0), [1 / 3] * 3)
    np.testing.assert_allclose(schedule.probabilities(1600), frequencies)
    np.testing.assert_allclose(schedule.probabilities(800), (np.array(frequencies) + 1 / 3) / 2)
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "train", str(tmp_path))
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("fundus", True), 8,
                                             8, is_training=True, seed=0, balanced_labels=[0, 1, 2],
                                             sampling_schedule=schedule)
        with tf.Session() as session:
            drawn = [session.run(batch["labels"]) for _ in range(260)]
    # The shuffle buffer (SHUFFLE_BUFFER_BATCHES batches) mixes neighbouring draws: compare the first
    # batches with those drawn after the schedule's end and the buffer's length.
    first, last = np.concatenate(drawn[:15]), np.concatenate(drawn[-60:])
    np.testing.assert_allclose(np.bincount(first, minlength=3) / first.size, [1 / 3] * 3, atol=0.12)
    np.testing.assert_allclose(np.bincount(last, minlength=3) / last.size, frequencies, atol=0.07)


def test_a_resumed_sampling_schedule_continues_where_the_run_stopped():
    schedule = input_pipeline.SamplingSchedule((0.8, 0.2), num_examples=100, end_mix=0.5, start_example=50)
    with tf.Graph().as_default():
        first = tf.data.make_one_shot_iterator(schedule.weights()).get_next()
        with tf.Session() as session:
            np.testing.assert_allclose(session.run(first), schedule.probabilities(50), rtol=1e-6)
    np.testing.assert_allclose(schedule.probabilities(100), [0.5 * 0.5 + 0.5 * 0.8, 0.5 * 0.5 + 0.5 * 0.2])
    np.testing.assert_allclose(schedule.probabilities(1000), schedule.probabilities(100))
