"""Generic sharded TFRecord writing: sizes from headers, shuffled shards, stale shards removed."""
import os

import numpy as np
import pytest
from PIL import Image, ImageFile

from datasets import tfrecord_writer
from slim_compat import tf


def write_images(folder, count):
    """JPEGs and PNGs of different sizes; returns [(path, label, image id)]."""
    images = []
    for index in range(count):
        image_format = "PNG" if index % 3 == 0 else "JPEG"
        path = os.path.join(folder, f"{index}.{image_format.lower()}")
        Image.new("RGB", (20 + index, 10 + 2 * index), (index, 50, 100)).save(path, format=image_format)
        images.append((path, index % 5, f"{index}_left"))
    return images


def read_examples(folder, prefix, split):
    rows = {}
    for name in sorted(os.listdir(folder)):
        if name.startswith(f"{prefix}_{split}_"):
            for record in tf.io.tf_record_iterator(os.path.join(folder, name)):
                feature = tf.train.Example.FromString(record).features.feature
                rows[feature["image/filename"].bytes_list.value[0].decode()] = (
                    name, feature["image/format"].bytes_list.value[0], feature["image/class/label"].int64_list.value[0],
                    feature["image/height"].int64_list.value[0], feature["image/width"].int64_list.value[0])
    return rows


def test_sizes_come_from_headers_without_decoding(tmp_path, monkeypatch):
    images = write_images(str(tmp_path), 9)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("an image was decoded"))
    assert tfrecord_writer.write_sharded_tfrecords(images, str(tmp_path / "out"), "things", "train", 2) == 9
    rows = read_examples(str(tmp_path / "out"), "things", "train")
    for index, (path, label, image_id) in enumerate(images):
        _, image_format, written_label, height, width = rows[image_id]
        assert (image_format, written_label, height, width) == (
            b"png" if path.endswith(".png") else b"jpg", label, 10 + 2 * index, 20 + index)


def test_shards_are_shuffled_deterministically_and_a_new_count_replaces_the_old(tmp_path):
    images = write_images(str(tmp_path), 12)
    output = str(tmp_path / "out")
    tfrecord_writer.write_sharded_tfrecords(images, output, "things", "train", 3, seed=1)
    first = read_examples(output, "things", "train")
    assert sorted(os.listdir(output)) == [f"things_train_{i:05d}-of-00003.tfrecord" for i in range(3)]
    shard_of = [int(first[image_id][0][13:18]) for _, _, image_id in images]
    assert shard_of != sorted(shard_of) and np.bincount(shard_of).tolist() == [4, 4, 4]
    tfrecord_writer.write_sharded_tfrecords(images, output, "things", "train", 3, seed=1)
    assert read_examples(output, "things", "train") == first
    tfrecord_writer.write_sharded_tfrecords(images, output, "things", "train", 2, seed=1)
    assert sorted(os.listdir(output)) == [f"things_train_{i:05d}-of-00002.tfrecord" for i in range(2)]
    assert tfrecord_writer.split_is_complete(output, "things", "train")
    os.remove(os.path.join(output, "things_train_00001-of-00002.tfrecord"))
    assert not tfrecord_writer.split_is_complete(output, "things", "train")


def test_default_shard_counts():
    assert [tfrecord_writer.default_num_shards(n) for n in (1, 3, 40, 5126, 30000)] == [1, 3, 4, 6, 30]


def test_a_non_image_names_the_file(tmp_path):
    (tmp_path / "notes.jpeg").write_text("hello")
    with pytest.raises(ValueError, match="notes.jpeg: not a readable image"):
        tfrecord_writer.write_sharded_tfrecords([(str(tmp_path / "notes.jpeg"), 0, "notes")], str(tmp_path),
                                                "things", "train", 1)
