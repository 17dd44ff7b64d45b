"""Reading diabetic TFRecords through dataset_factory and slim's decoder."""
import numpy as np
import pytest

from datasets import dataset_factory, dataset_utils
from inference import model_runner
from slim_compat import slim, tf
from tests.conftest import TINY_IMAGE_SIZE, TINY_SPLITS


def read_all(dataset):
    provider = slim.dataset_data_provider.DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    image, label, filename = provider.get(["image", "label", "filename"])
    rows = []
    with tf.Session() as session:
        session.run(tf.local_variables_initializer())
        coordinator = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(session, coordinator)
        try:
            while True:
                rows.append(session.run([image, label, filename]))
        except tf.errors.OutOfRangeError:
            pass
        coordinator.request_stop()
        coordinator.join(threads)
    return rows


def test_split_sizes_and_labels_come_from_the_folder(tiny_diabetic_dir):
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("diabetic", "validation", tiny_diabetic_dir)
    assert dataset.num_samples == TINY_SPLITS["validation"]
    assert dataset.num_classes == 5
    assert dataset.labels_to_names == {0: "0", 1: "1", 2: "2", 3: "3", 4: "4"}


def test_slim_provider_decodes_every_example(tiny_diabetic_dir):
    with tf.Graph().as_default():
        rows = read_all(dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir))
    assert len(rows) == TINY_SPLITS["train"]
    assert all(image.shape == (TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, 3) and image.dtype == np.uint8
               for image, _, _ in rows)
    assert sorted(label for _, label, _ in rows) == sorted(index % 5 for index in range(TINY_SPLITS["train"]))
    assert {filename.decode() for _, _, filename in rows} >= {"0_left", "1_right"}


def test_test_split_is_unlabelled(tiny_diabetic_dir):
    with tf.Graph().as_default():
        rows = read_all(dataset_factory.get_dataset("diabetic", "test", tiny_diabetic_dir))
    assert {label for _, label, _ in rows} == {dataset_utils.UNLABELLED}


def test_unknown_dataset_split_and_missing_records_are_clear_errors(tiny_diabetic_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown cifar100"):
        dataset_factory.get_dataset("cifar100", "train", tiny_diabetic_dir)
    with pytest.raises(ValueError, match="'dev' was not recognised"):
        dataset_factory.get_dataset("diabetic", "dev", tiny_diabetic_dir)
    with pytest.raises(ValueError, match="no TFRecords match diabetic_train_"):
        dataset_factory.get_dataset("diabetic", "train", str(tmp_path))


def test_class_count_comes_without_tfrecords_from_the_module_or_labels_file(tmp_path):
    assert dataset_factory.get_num_classes("diabetic") == 5
    dataset_utils.write_label_file({0: "nodule", 1: "normal", 2: "other"}, str(tmp_path))
    assert dataset_factory.get_num_classes("labelled_images", str(tmp_path)) == 3
    assert model_runner.dataset_num_classes("labelled_images", 1, str(tmp_path)) == 2
    with pytest.raises(ValueError, match="give that folder with --dataset_dir"):
        dataset_factory.get_num_classes("labelled_images")
    with pytest.raises(ValueError, match="no labels.txt"):
        dataset_factory.get_num_classes("labelled_images", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="unknown cifar100"):
        model_runner.dataset_num_classes("cifar100")


def test_only_the_dr_datasets_have_dr_grades_and_their_splits_carry_the_mark(tiny_diabetic_dir):
    assert [name for name in dataset_factory.datasets_map if dataset_factory.has_dr_grades(name)] == [
        "diabetic", "aptos2019", "messidor2", "idrid", "ddr"]
    assert dataset_factory.get_dataset("diabetic", "validation", tiny_diabetic_dir).dr_grades is True
    with pytest.raises(ValueError, match="Name of dataset unknown retina"):
        dataset_factory.has_dr_grades("retina")
