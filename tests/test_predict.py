"""predict_image_classifier.py: Kaggle submissions from TFRecords or a folder, TTA and both-eye fusion."""
import csv
import os

import numpy as np
import pytest

from datasets import download_and_convert_diabetic, kaggle_sample
from grading import eye_fusion
from inference import image_folder, model_runner
from reporting import submission
from slim_compat import tf
from tests.conftest import TINY_SPLITS
from tests.model_helpers import (TEST_CONFIG, TEST_IMAGE_SIZE, TEST_MODEL, read_encoded_images, run_script,
                                 shared_train_dir, split_predictions)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return os.path.join(shared_train_dir(tmp_path_factory), "model.ckpt-2")


@pytest.mark.slow
def test_submission_has_one_row_per_test_image(tiny_diabetic_dir, checkpoint, tmp_path):
    submission_file = tmp_path / "submission.csv"
    result = run_script("predict_image_classifier.py", f"--checkpoint_path={checkpoint}", "--dataset_name=diabetic",
                        f"--dataset_dir={tiny_diabetic_dir}", f"--submission_file={submission_file}",
                        f"--eval_image_size={TEST_IMAGE_SIZE}", "--batch_size=4", "--combine_eyes", "--tta")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(submission_file) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["image", "level"]
    ids = [image_id for image_id, _ in rows[1:]]
    assert sorted(ids) == sorted(read_encoded_images(tiny_diabetic_dir, "test"))
    assert len(ids) == TINY_SPLITS["test"]
    assert all(level in {"0", "1", "2", "3", "4"} for _, level in rows[1:])


@pytest.mark.slow
def test_folder_of_images_is_predicted_like_the_tfrecords_and_bad_files_are_skipped(tiny_diabetic_dir, checkpoint,
                                                                                    tmp_path):
    encoded = read_encoded_images(tiny_diabetic_dir, "test")
    for image_id, image_bytes in encoded.items():
        (tmp_path / f"{image_id}.jpeg").write_bytes(image_bytes)
    (tmp_path / "99_left.jpeg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    images = image_folder.list_images(str(tmp_path))
    from_folder = model_runner.collect_predictions(checkpoint, TEST_CONFIG, image_folder.folder_batches(images, 4),
                                                   len(images))
    from_records = split_predictions(tiny_diabetic_dir, checkpoint)
    assert sorted(from_folder.filenames) == sorted(encoded)
    by_id = dict(zip(from_records.filenames, from_records.probabilities))
    np.testing.assert_allclose(from_folder.probabilities, [by_id[name] for name in from_folder.filenames],
                               atol=1e-6)
    assert image_folder.report_unreadable(images, from_folder.filenames) == [str(tmp_path / "99_left.jpeg")]


@pytest.mark.slow
def test_tta_averages_the_predictions_of_the_eight_orientations(checkpoint):
    images = np.random.default_rng(0).uniform(-1, 1, (2, TEST_IMAGE_SIZE, TEST_IMAGE_SIZE, 3)).astype(np.float32)
    turns = [np.rot90(images, k, axes=(1, 2)) for k in range(4)]
    orientations = turns + [np.flip(turn, axis=2) for turn in turns]

    def batches_of(array):
        def make_batches(preprocessing_fn, image_size):
            dataset = tf.data.Dataset.from_tensor_slices({
                "images": array, "labels": np.full(len(array), -1), "filenames": [str(i) for i in range(len(array))]})
            return tf.data.make_one_shot_iterator(dataset.batch(8)).get_next()
        return make_batches

    tta_config = model_runner.ModelConfig(TEST_MODEL, num_classes=5, image_size=TEST_IMAGE_SIZE, tta=True)
    with_tta = model_runner.collect_predictions(checkpoint, tta_config, batches_of(images))
    each = model_runner.collect_predictions(checkpoint, TEST_CONFIG, batches_of(np.concatenate(orientations)))
    expected = each.probabilities.reshape(8, 2, 5).mean(axis=0)
    np.testing.assert_allclose(with_tta.probabilities, expected, atol=1e-5)
    assert np.abs(each.probabilities.reshape(8, 2, 5) - expected).max() > 1e-4


def test_combine_eyes_mixes_only_the_two_eyes_of_one_patient():
    probabilities = np.array([[1.0, 0, 0, 0, 0], [0, 0, 0, 0, 1.0], [0, 1.0, 0, 0, 0], [0, 0, 1.0, 0, 0]])
    combined = eye_fusion.combine_eyes(["7_left", "7_right", "8_left", "odd"], probabilities, other_eye_weight=0.25)
    np.testing.assert_allclose(combined[0], [0.75, 0, 0, 0, 0.25])
    np.testing.assert_allclose(combined[1], [0.25, 0, 0, 0, 0.75])
    np.testing.assert_array_equal(combined[2:], probabilities[2:])


def test_submission_refuses_an_image_listed_twice(tmp_path):
    with pytest.raises(ValueError, match="more than once: 1_left"):
        submission.write_submission_csv(str(tmp_path / "s.csv"), ["1_left", "1_right", "1_left"], [0, 1, 2])
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.slow
def test_folder_of_raw_photographs_is_prepared_like_the_converted_test_split(checkpoint, tmp_path):
    kaggle_dir = str(tmp_path / "kaggle")
    kaggle_sample.write_kaggle_sample(kaggle_dir, num_patients=2, image_width_range=(700, 900), with_test=True)
    assert download_and_convert_diabetic.run(kaggle_dir, validation_size=2, num_workers=1, image_size=160) == 0
    photos = image_folder.list_images(os.path.join(kaggle_dir, "test"))
    prepared, skipped, _ = image_folder.prepare_photos(photos, str(tmp_path), image_size=160, crop_threshold=10)
    assert not skipped
    from_folder = model_runner.collect_predictions(checkpoint, TEST_CONFIG, image_folder.folder_batches(prepared, 4),
                                                   len(prepared))
    from_records = split_predictions(os.path.join(kaggle_dir, "tfrecords"), checkpoint, split="test")
    by_id = dict(zip(from_records.filenames, from_records.probabilities))
    assert sorted(from_folder.filenames) == sorted(photos) == sorted(by_id)
    np.testing.assert_allclose(from_folder.probabilities, [by_id[name] for name in from_folder.filenames],
                               atol=1e-6)

    test_dir = os.path.join(kaggle_dir, "test")
    open(os.path.join(test_dir, "98_left.jpeg"), "wb").write(b"not a jpeg")
    kaggle_sample.load_retina().convert("L").save(os.path.join(test_dir, "98_right.jpeg"), format="JPEG")
    submission_file = tmp_path / "submission.csv"
    result = run_script("predict_image_classifier.py", f"--checkpoint_path={checkpoint}", f"--image_dir={test_dir}",
                        "--prepare_image_size=160", f"--submission_file={submission_file}",
                        f"--eval_image_size={TEST_IMAGE_SIZE}")
    report = tmp_path / "submission_skipped.txt"
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (f"predict_image_classifier.py: 2 of {len(photos) + 2} images were "
                                              f"skipped, listed in {report}; {submission_file} holds the other "
                                              f"{len(photos)}")
    assert report.read_text().splitlines() == [
        f"{test_dir}/98_left.jpeg: not a readable image (cannot identify image file '{test_dir}/98_left.jpeg')",
        f"{test_dir}/98_right.jpeg: a greyscale photograph: grading needs the colour of the lesions; refused"]
    with open(submission_file) as handle:
        levels = dict(list(csv.reader(handle))[1:])
    assert levels == {name: str(int(np.argmax(by_id[name]))) for name in photos}
