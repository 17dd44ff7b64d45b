"""Conversion records: images are made again when their source or settings change, and the
TFRecords carry the settings; bad or oddly named inputs are one report line each."""
import glob
import json
import logging
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from datasets import conversion_records, dataset_factory, dataset_utils, kaggle_sample
from datasets import download_and_convert_diabetic as convert
from fundus import preparation as fundus_preparation
from slim_compat import tf

SIZE = 48


def convert_logged(dataset_dir, caplog, **kwargs):
    caplog.clear()
    status = convert.run(dataset_dir, validation_size=2, num_workers=1, num_shards=2, **kwargs)
    return status, caplog.text


def example_features(dataset_dir):
    """{image id: features} of every example in the TFRecords."""
    examples = {}
    for path in glob.glob(os.path.join(dataset_dir, "tfrecords", "diabetic_*.tfrecord")):
        for record in tf.io.tf_record_iterator(path):
            features = tf.train.Example.FromString(record).features.feature
            examples[features["image/filename"].bytes_list.value[0].decode()] = features
    return examples


def processed_path(dataset_dir, name):
    return glob.glob(os.path.join(dataset_dir, "processed_images", "*", "*", name + ".jpeg"))[0]


@pytest.fixture
def sample(tmp_path):
    """A converted sample of 3 patients at SIZE px: (folder, {name: grade})."""
    dataset_dir = str(tmp_path / "kaggle")
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 3, (320, 420), seed=4)
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, num_shards=2, image_size=SIZE) == 0
    return dataset_dir, dict(written["train"])


def test_changed_image_size_or_crop_threshold_makes_every_image_again(sample, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    dataset_dir, written = sample
    status, log = convert_logged(dataset_dir, caplog, image_size=64)
    assert status == 0 and "6 images to preprocess, 0 already done" in log
    examples = example_features(dataset_dir)
    assert sorted(examples) == sorted(written)
    at_64 = dict(fundus_preparation.DEFAULT_SETTINGS, image_size=64)
    for features in examples.values():
        assert features["image/height"].int64_list.value[0] == 64
        assert json.loads(features[dataset_utils.CONVERSION_FEATURE].bytes_list.value[0]) == at_64
    with Image.open(processed_path(dataset_dir, next(iter(written)))) as image:
        assert image.size == (64, 64)
    train = dataset_factory.get_dataset("diabetic", "train", os.path.join(dataset_dir, "tfrecords"))
    assert train.conversion_settings == at_64
    status, log = convert_logged(dataset_dir, caplog, image_size=64, crop_threshold=30)
    assert status == 0 and "6 images to preprocess, 0 already done" in log
    assert convert.read_conversion(os.path.join(dataset_dir, "tfrecords"))["settings"] == dict(at_64,
                                                                                               crop_threshold=30)


def test_a_replaced_source_is_made_again_and_nothing_else(sample, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    dataset_dir, written = sample
    name = next(iter(written))
    before = open(processed_path(dataset_dir, name), "rb").read()
    source = os.path.join(dataset_dir, "train", name + ".jpeg")
    pixels = np.asarray(Image.open(source)).copy()
    pixels[pixels.shape[0] // 3:pixels.shape[0] // 2, pixels.shape[1] // 3:pixels.shape[1] // 2] = (250, 250, 0)
    Image.fromarray(pixels).save(source, format="JPEG", quality=90)
    status, log = convert_logged(dataset_dir, caplog, image_size=SIZE)
    assert status == 0 and "1 images to preprocess, 5 already done" in log
    assert open(processed_path(dataset_dir, name), "rb").read() != before
    examples = example_features(dataset_dir)
    assert examples[name]["image/encoded"].bytes_list.value[0] == open(processed_path(dataset_dir, name), "rb").read()


def test_records_survive_moving_the_folder_and_a_cut_last_line(sample, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    dataset_dir, _ = sample
    moved = dataset_dir + "_moved"
    os.rename(dataset_dir, moved)
    with open(os.path.join(moved, "processed_images", conversion_records.RECORDS_FILENAME), "a") as handle:
        handle.write('{"image": "train/0/')
    status, log = convert_logged(moved, caplog, image_size=SIZE)
    assert status == 0 and "0 images to preprocess, 6 already done" in log and "up to date" in log


def test_temporaries_of_a_stopped_conversion_are_removed(sample):
    dataset_dir, _ = sample
    leftovers = [os.path.join(dataset_dir, "processed_images", "train", "0", "77_left.jpeg.tmp"),
                 os.path.join(dataset_dir, "tfrecords", "diabetic_train_00000-of-00002.tfrecord.tmp")]
    for path in leftovers:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(b"half")
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, num_shards=2, image_size=SIZE) == 0
    assert not [path for path in leftovers if os.path.exists(path)]


def test_other_extensions_count_and_two_files_of_one_image_are_an_error(sample, caplog):
    dataset_dir, written = sample
    first, second = list(written)[:2]
    train = os.path.join(dataset_dir, "train")
    os.rename(os.path.join(train, first + ".jpeg"), os.path.join(train, first + ".JPG"))
    shutil.copy(os.path.join(train, second + ".jpeg"), os.path.join(train, second + ".jpg"))
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, num_shards=2, image_size=SIZE) == 1
    report = open(os.path.join(dataset_dir, convert.REPORT_FILENAME)).read().splitlines()
    assert report == [f"error {os.path.join(train, second + '.jpeg')}: 2 files for image {second} "
                      f"({second}.jpeg, {second}.jpg); keep one"]
    assert set(example_features(dataset_dir)) == set(written) - {second}


def test_tiny_and_greyscale_photographs_are_refused_and_the_rest_converted(sample):
    dataset_dir, written = sample
    train = os.path.join(dataset_dir, "train")
    Image.new("RGB", (1, 1), (200, 90, 40)).save(os.path.join(train, "800_left.jpeg"), format="JPEG")
    retina = kaggle_sample.load_retina().resize((300, 300))
    retina.convert("L").save(os.path.join(train, "800_right.jpeg"), format="JPEG")
    retina.convert("L").convert("RGB").save(os.path.join(train, "801_left.jpeg"), format="JPEG")
    with open(os.path.join(dataset_dir, "trainLabels.csv"), "a") as handle:
        handle.write("800_left,0\n800_right,0\n801_left,1\n")
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, num_shards=2, image_size=SIZE) == 1
    report = open(os.path.join(dataset_dir, convert.REPORT_FILENAME)).read().splitlines()
    grey = "a greyscale photograph: grading needs the colour of the lesions; refused"
    assert sorted(report) == sorted([
        f"error {os.path.join(train, '800_left.jpeg')}: too small: 1x1 pixels without its black border, under "
        f"half the output size {SIZE}; refused rather than blown up",
        f"error {os.path.join(train, '800_right.jpeg')}: {grey}",
        f"error {os.path.join(train, '801_left.jpeg')}: {grey}"])
    assert set(example_features(dataset_dir)) == set(written)


def test_a_labels_file_with_only_its_header_is_an_error(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "trainLabels.csv").write_text("image,level\n")
    with pytest.raises(ValueError, match=r"trainLabels.csv: lists no usable image \(rows 'image,level' after "
                                         r"the header\)$"):
        convert.run(str(tmp_path), num_workers=1)
    assert not os.path.exists(tmp_path / "tfrecords")


def test_unknown_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^unknown preprocessing setting\(s\) colour; known: .*image_size"):
        convert.run(str(tmp_path), colour=True)
