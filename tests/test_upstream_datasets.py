"""Upstream's cifar10, mnist, flowers and visualwakewords: converted from local archives (no network) and read
back through dataset_factory with upstream's split names, sizes and file patterns."""
import glob
import os
import urllib.error

import numpy as np
import pytest

from datasets import (dataset_factory, dataset_utils, download_and_convert_cifar10, download_and_convert_flowers,
                      download_and_convert_mnist, download_and_convert_visualwakewords, downloads, input_pipeline)
from slim_compat import tf
from tests import upstream_archives


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any download attempt fails as it does offline, and is recorded."""
    attempts = []

    def refuse(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(downloads.urllib.request, "urlopen", refuse)
    return attempts


def read_split(dataset_name, split_name, dataset_dir):
    """Returns (the slim Dataset, [(uint8 image, label, filename)] in file order) of one split."""
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset(dataset_name, split_name, dataset_dir)
        records = tf.data.TFRecordDataset(input_pipeline.list_shards(dataset))
        decoded = records.map(lambda serialized: input_pipeline.decode_example(dataset, serialized))
        next_example = tf.data.make_one_shot_iterator(decoded).get_next()
        rows = []
        with tf.Session() as session:
            try:
                while True:
                    rows.append(session.run(next_example))
            except tf.errors.OutOfRangeError:
                pass
    return dataset, rows


def test_upstream_datasets_are_registered_with_upstreams_splits_and_sizes():
    expected = {"cifar10": {"train": 50000, "test": 10000}, "mnist": {"train": 60000, "test": 10000},
                "flowers": {"train": 3320, "validation": 350}, "visualwakewords": {"train": 82783, "val": 40504},
                "imagenet": {"train": 1281167, "validation": 50000}}
    for name, sizes in expected.items():
        assert dataset_factory.datasets_map[name].SPLITS_TO_SIZES == sizes
    assert [dataset_factory.get_num_classes(name) for name in expected] == [10, 10, 5, 2, 1001]
    with pytest.raises(ValueError, match="'validation' was not recognised; use one of train, test"):
        dataset_factory.get_dataset("cifar10", "validation", "unused")


def test_cifar10_converts_from_the_archive_in_the_folder_losslessly(tmp_path, no_network):
    written = upstream_archives.write_cifar10_archive(str(tmp_path))
    assert download_and_convert_cifar10.run(str(tmp_path)) == 0
    assert no_network == []
    assert sorted(os.listdir(tmp_path)) == ["cifar-10-python.tar.gz", "cifar10_test.tfrecord",
                                            "cifar10_train.tfrecord", "labels.txt", "split_sizes.txt"]
    assert dataset_utils.read_label_file(str(tmp_path))[9] == "truck"
    for split, (images, labels) in written.items():
        dataset, rows = read_split("cifar10", split, str(tmp_path))
        assert dataset.num_samples == len(images) and dataset.num_classes == 10
        np.testing.assert_array_equal(np.stack([image for image, _, _ in rows]), images)
        assert [label for _, label, _ in rows] == list(labels)


def test_mnist_converts_the_four_idx_files_to_one_channel_images(tmp_path, no_network):
    written = upstream_archives.write_mnist_files(str(tmp_path))
    assert download_and_convert_mnist.run(str(tmp_path)) == 0
    assert no_network == []
    assert dataset_utils.read_label_file(str(tmp_path))[6] == "six"
    for split, (images, labels) in written.items():
        _, rows = read_split("mnist", split, str(tmp_path))
        np.testing.assert_array_equal(np.stack([image for image, _, _ in rows]), images[..., None])
        assert [label for _, label, _ in rows] == labels.tolist()


def test_flowers_hold_out_validation_photos_in_upstreams_shards(tmp_path, no_network):
    upstream_archives.write_flowers_archive(str(tmp_path), photos_per_class=4)
    assert download_and_convert_flowers.run(str(tmp_path), num_validation=5) == 0
    assert no_network == [] and not os.path.exists(tmp_path / "flower_photos")
    assert sorted(os.path.basename(path) for path in glob.glob(str(tmp_path / "flowers_*"))) == [
        f"flowers_{split}_{shard:05d}-of-00005.tfrecord" for split in ("train", "validation") for shard in range(5)]
    assert dataset_utils.read_label_file(str(tmp_path)) == {0: "daisy", 1: "roses", 2: "tulips"}
    seen = {}
    for split, size in (("train", 7), ("validation", 5)):
        dataset, rows = read_split("flowers", split, str(tmp_path))
        assert dataset.num_samples == size == len(rows)
        seen.update({filename.decode(): (label, image) for image, label, filename in rows})
    assert len(seen) == 12
    for filename, (label, image) in seen.items():
        assert dataset_utils.read_label_file(str(tmp_path))[label] == filename.split("_")[0]
        colour = upstream_archives.FLOWER_COLOURS[filename.split("_")[0]]
        np.testing.assert_allclose(image.mean(axis=(0, 1)), colour, atol=8)
    # A second run finds the complete shards and converts nothing.
    os.remove(tmp_path / "flower_photos.tgz")
    assert download_and_convert_flowers.run(str(tmp_path)) == 0 and no_network == []


def test_visualwakewords_labels_people_above_the_area_threshold(tmp_path, no_network):
    upstream_archives.write_coco_zips(str(tmp_path / "coco_dataset"))
    assert download_and_convert_visualwakewords.run(str(tmp_path), splits={"train": 2, "val": 1}) == 0
    assert no_network == []
    assert dataset_utils.read_label_file(str(tmp_path)) == {0: "background", 1: "person"}
    assert sorted(glob.glob(str(tmp_path / "train.record-*"))) == [
        str(tmp_path / f"train.record-{shard:05d}-of-00002") for shard in range(2)]
    _, rows = read_split("visualwakewords", "train", str(tmp_path))
    labels = {filename.decode(): label for _, label, filename in rows}
    assert labels == {"COCO_train2014_1.jpg": 1, "COCO_train2014_2.jpg": 0, "COCO_train2014_3.jpg": 0}
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("visualwakewords", "val", str(tmp_path))
        serialized = tf.data.make_one_shot_iterator(
            tf.data.TFRecordDataset(input_pipeline.list_shards(dataset))).get_next()
        items = dataset.decoder.decode(serialized, ["label", "object/bbox"])
        with tf.Session() as session:
            label, boxes = session.run(items)
    # Only the person counts; its [x, y, w, h] = [5, 0, 5, 4] of a 10x10 image as [ymin, xmin, ymax, xmax].
    assert label == 1
    np.testing.assert_allclose(boxes, [[0.0, 0.5, 0.4, 1.0]])


def test_a_missing_archive_without_network_is_one_clear_error_and_writes_nothing(tmp_path, no_network):
    with pytest.raises(ValueError) as raised:
        download_and_convert_cifar10.run(str(tmp_path))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'cifar-10-python.tar.gz'} is missing and "
                              f"{download_and_convert_cifar10.DATA_URL} could not be downloaded")
    assert "put it there" in message and no_network == [download_and_convert_cifar10.DATA_URL]
    assert os.listdir(tmp_path) == []
