"""The diabetic conversion on generated Kaggle-layout folders: split, bad inputs, resume, TFRecords."""
import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from datasets import conversion_records, dataset_utils, diabetic, fundus_conversion, kaggle_sample, tfrecord_writer
from datasets import download_and_convert_diabetic as convert
from slim_compat import tf
from tests.test_fundus_preparation import jpeg_header_claiming
from tests.test_datasets import read_all
from utils import eye_photos

IMAGE_SIZE = 48
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The sample lists 10_left with grade 1 (and 13_left with 0).
CONFLICTING_ROW = "10_left,0"


def append_rows(dataset_dir, *rows):
    with open(os.path.join(dataset_dir, "trainLabels.csv"), "a") as handle:
        handle.writelines(row + "\n" for row in rows)


def add_bad_inputs(dataset_dir):
    """Adds one of each bad input; returns {what the report must name: the problem}."""
    train = os.path.join(dataset_dir, "train")
    whole = open(os.path.join(train, "10_left.jpeg"), "rb").read()
    with open(os.path.join(train, "900_left.jpeg"), "wb") as handle:
        handle.write(whole[:len(whole) // 3])
    Image.new("RGB", (64, 48), (120, 40, 20)).save(os.path.join(train, "900_right.jpeg"), format="PNG")
    with open(os.path.join(train, "901_left.jpeg"), "wb") as handle:
        handle.write(jpeg_header_claiming(30000, 30000))
    Image.new("RGB", (64, 48)).save(os.path.join(train, "901_right.jpeg"), format="JPEG")
    Image.new("RGB", (64, 48), (200, 80, 40)).save(os.path.join(train, "999_left.jpeg"), format="JPEG")
    append_rows(dataset_dir, "900_left,1", "900_right,2", "901_left,0", "901_right,0", "902_left,3",
                "902_right,7", "../903_left,1", "903_right", CONFLICTING_ROW, "13_left,0")
    return {
        "train/900_left.jpeg: corrupt or truncated": "error",
        "train/900_right.jpeg: not a JPEG but PNG": "error",
        "train/901_left.jpeg: refused as a decompression bomb": "error",
        "train/902_left.jpeg: listed in trainLabels.csv but missing": "warning",
        "level '7' is not a grade 0-4": "error",
        "image name '../903_left' is not a plain file name": "error",
        "expected 2 fields 'image,level', got 1": "error",
        "image '10_left' is listed with grades 1 and 0; neither is converted": "error",
        "image '13_left' is listed twice with the same grade 0; converted once": "warning",
        "train/999_left.jpeg: not listed in trainLabels.csv; skipped": "warning",
        "train/901_right.jpeg: every pixel is at most 10: kept uncropped": "warning",
        "train/901_right.jpeg: ungradable (no fundus disc found": "warning",
    }


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A sample with bad inputs, converted once: (folder, generated rows, expected report, exit status)."""
    dataset_dir = str(tmp_path_factory.mktemp("kaggle"))
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 10, (320, 420), seed=5, with_test=True)
    expected_report = add_bad_inputs(dataset_dir)
    status = convert.run(dataset_dir, validation_size=6, num_workers=2, image_size=IMAGE_SIZE, num_shards=3)
    return dataset_dir, written, expected_report, status


def count_jpegs(folder):
    return sum(name.endswith(".jpeg") for _, _, names in os.walk(folder) for name in names)


def count_recorded(processed_dir):
    """Images with a complete line in the conversion records and a file on disk (what a rerun keeps)."""
    path = os.path.join(processed_dir, conversion_records.RECORDS_FILENAME)
    if not os.path.exists(path):
        return 0
    images = set()
    with open(path) as handle:
        for line in handle:
            if line.endswith("\n"):
                images.add(json.loads(line)["image"])
    return sum(os.path.exists(os.path.join(processed_dir, image)) for image in images)


def converted_rows(written):
    """The sample's labelled rows that the conversion writes: all but the conflicting photo's."""
    refused = CONFLICTING_ROW.split(",")[0]
    return {name: grade for name, grade in written["train"] if name != refused}


def read_split(dataset_dir, split):
    with tf.Graph().as_default():
        rows = read_all(diabetic.get_split(split, os.path.join(dataset_dir, "tfrecords")))
    return {filename.decode(): (image, label) for image, label, filename in rows}


def read_examples(dataset_dir):
    """{image name: its Example's features} of every split's TFRecords."""
    examples = {}
    for path in glob.glob(os.path.join(dataset_dir, "tfrecords", "diabetic_*.tfrecord")):
        for record in tf.io.tf_record_iterator(path):
            features = tf.train.Example.FromString(record).features.feature
            examples[features["image/filename"].bytes_list.value[0].decode()] = features
    return examples


def assert_converted_into_no_split(dataset_dir, name, grades):
    """The report's one error for `name` names its `grades` and lines; it is in no TFRecord and no processed split."""
    csv_path = os.path.join(dataset_dir, "trainLabels.csv")
    with open(csv_path) as handle:
        lines = [number for number, row in enumerate(handle, start=1) if row.startswith(name + ",")]
    with open(os.path.join(dataset_dir, convert.REPORT_FILENAME)) as handle:
        report = [line for line in handle.read().splitlines() if name in line]
    assert report == [f"error {csv_path} lines {lines[0]} and {lines[1]}: image {name!r} is listed with grades "
                      f"{grades[0]} and {grades[1]}; neither is converted"]
    assert name not in read_examples(dataset_dir)
    assert not glob.glob(os.path.join(dataset_dir, "processed_images", "*", "*", name + ".jpeg"))


def test_labels_csv_with_a_wrong_header_is_refused(tmp_path):
    (tmp_path / "trainLabels.csv").write_text("name,grade\n10_left,0\n")
    with pytest.raises(ValueError, match="header is 'name,grade', expected 'image,level'"):
        convert.read_labels(str(tmp_path / "trainLabels.csv"), fundus_conversion.Report())


def test_split_keeps_both_eyes_together_deterministically():
    names = [f"{patient}_{eye}" for patient in range(10, 510) for eye in ("left", "right")]
    validation = convert.split_by_patient(names, 101, seed=7)
    assert len(validation) == 102
    assert all(name.replace("left", "right") in validation for name in validation if name.endswith("left"))
    assert convert.split_by_patient(names, 101, seed=7) == validation
    assert convert.split_by_patient(names, 101, seed=8) != validation
    assert convert.split_by_patient(list(reversed(names)), 101, seed=7) == validation


def test_stratified_split_puts_every_grade_in_both_splits_in_proportion():
    # Kaggle-like skew among 100 patients: 70 of grade 0, 20 of grade 2, 5 of grade 3, 4 of grade 4, 1 of grade 1.
    patient_grades = [0] * 70 + [2] * 20 + [3] * 5 + [4] * 4 + [1]
    grades = {f"{10 + patient}_{eye}": grade for patient, grade in enumerate(patient_grades)
              for eye in ("left", "right")}
    for seed in range(5):
        validation = convert.split_by_patient(sorted(grades), 40, seed, grades)
        assert len(validation) == 40
        per_grade = Counter(grades[name] for name in validation if name.endswith("_left"))
        assert per_grade == {0: 14, 2: 4, 3: 1, 4: 1}, (seed, per_grade)
    unstratified = [Counter(grades[name] for name in convert.split_by_patient(sorted(grades), 40, seed)
                            if name.endswith("_left")) for seed in range(5)]
    assert any(counts != {0: 14, 2: 4, 3: 1, 4: 1} for counts in unstratified)


def test_every_bad_input_is_one_report_line_and_the_status_is_one(converted):
    dataset_dir, _, expected_report, status = converted
    assert status == 1
    with open(os.path.join(dataset_dir, convert.REPORT_FILENAME)) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == len(expected_report)
    for fragment, kind in expected_report.items():
        assert [line for line in lines if fragment in line and line.startswith(kind)], fragment


def test_a_photo_listed_with_two_grades_is_converted_into_no_split_and_its_other_eye_is(converted):
    dataset_dir, written, _, _ = converted
    assert ("10_left", 1) in written["train"]
    assert_converted_into_no_split(dataset_dir, "10_left", (1, 0))
    assert "10_right" in read_examples(dataset_dir)


def test_a_grade_conflict_found_on_a_rerun_takes_the_photo_out_of_every_split(tmp_path):
    dataset_dir = str(tmp_path)
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 3, (320, 420), seed=5)
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, image_size=IMAGE_SIZE) == 0
    name, grade = written["train"][0]
    other_grade = (grade + 1) % diabetic.NUM_CLASSES
    append_rows(dataset_dir, f"{name},{other_grade}")
    assert convert.run(dataset_dir, validation_size=2, num_workers=1, image_size=IMAGE_SIZE) == 1
    assert_converted_into_no_split(dataset_dir, name, (grade, other_grade))
    assert set(read_examples(dataset_dir)) == {other for other, _ in written["train"][1:]}


def test_good_images_round_trip_through_get_split_with_their_labels(converted):
    dataset_dir, written, _, _ = converted
    train, validation = read_split(dataset_dir, "train"), read_split(dataset_dir, "validation")
    # The all-black 901_right is converted but ungradable, so kept out of the TFRecords.
    expected = converted_rows(written)
    assert {name: label for name, (_, label) in {**train, **validation}.items()} == expected
    grades = dict(convert.read_labels(os.path.join(dataset_dir, "trainLabels.csv"), fundus_conversion.Report()))
    present = [name for name in grades if os.path.exists(os.path.join(dataset_dir, "train", name + ".jpeg"))]
    assert set(validation) == convert.split_by_patient(present, 6, seed=0, grades=grades) & set(expected)
    assert not {eye_photos.patient_id(name) for name in train} & {eye_photos.patient_id(name) for name in validation}
    assert all(image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) for image, _ in {**train, **validation}.values())
    sizes = dataset_utils.read_split_sizes(os.path.join(dataset_dir, "tfrecords"))
    assert sizes == {"train": len(train), "validation": len(validation), "test": len(written["test"])}


def test_test_images_are_unlabelled_and_written_as_processed_jpegs(converted):
    dataset_dir, written, _, _ = converted
    test = read_split(dataset_dir, "test")
    assert sorted(test) == sorted(written["test"])
    assert {label for _, label in test.values()} == {dataset_utils.UNLABELLED}
    processed = os.path.join(dataset_dir, "processed_images", "test", fundus_conversion.UNLABELLED_FOLDER)
    assert sorted(os.listdir(processed)) == sorted(name + ".jpeg" for name in written["test"])


def test_examples_hold_the_processed_jpeg_bytes_and_its_size(converted):
    dataset_dir, written, _, _ = converted
    validation = read_split(dataset_dir, "validation")
    examples = read_examples(dataset_dir)
    for name, grade in converted_rows(written).items():
        split = "validation" if name in validation else "train"
        with open(os.path.join(dataset_dir, "processed_images", split, str(grade), name + ".jpeg"), "rb") as handle:
            assert examples[name]["image/encoded"].bytes_list.value[0] == handle.read()
        assert examples[name]["image/format"].bytes_list.value[0] == b"jpg"
        assert examples[name]["image/height"].int64_list.value[0] == IMAGE_SIZE
        assert examples[name]["image/width"].int64_list.value[0] == IMAGE_SIZE


def test_a_rerun_keeps_current_images_and_tfrecords_and_overwrite_redoes_all(converted, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    dataset_dir, _, _, _ = converted
    shard = tfrecord_writer.shard_path(os.path.join(dataset_dir, "tfrecords"), "diabetic", "train", 0, 3)
    before = os.stat(shard).st_mtime_ns
    assert convert.run(dataset_dir, validation_size=6, num_workers=1, image_size=IMAGE_SIZE, num_shards=3) == 1
    assert os.stat(shard).st_mtime_ns == before
    # Only the images that failed before are tried again.
    assert "3 images to preprocess, 24 already done" in caplog.text
    assert "up to date" in caplog.text
    caplog.clear()
    status = convert.run(dataset_dir, validation_size=6, num_workers=1, image_size=IMAGE_SIZE, num_shards=3,
                         overwrite=True)
    assert status == 1 and os.stat(shard).st_mtime_ns != before
    assert "27 images to preprocess, 0 already done" in caplog.text


@pytest.mark.slow
def test_killed_run_resumes_to_a_complete_dataset(tmp_path):
    dataset_dir = str(tmp_path)
    written = kaggle_sample.write_kaggle_sample(dataset_dir, 10, (1400, 1800), seed=9)
    command = [sys.executable, "download_and_convert_data.py", "--dataset_name=diabetic",
               f"--dataset_dir={dataset_dir}", "--validation_size=4", "--num_workers=1", f"--image_size={IMAGE_SIZE}"]
    processed = os.path.join(dataset_dir, "processed_images")
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count_recorded(processed) < 3:
        time.sleep(0.05)
    # The whole process group, workers included, as a crash or an OOM kill would.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    done_before = count_recorded(processed)
    assert 3 <= done_before < len(written["train"])
    second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"{len(written['train']) - done_before} images to preprocess" in second.stderr
    train, validation = read_split(dataset_dir, "train"), read_split(dataset_dir, "validation")
    assert {name: label for name, (_, label) in {**train, **validation}.items()} == dict(written["train"])
    assert not [name for name in os.listdir(os.path.join(dataset_dir, "tfrecords")) if name.endswith(".tmp")]


def test_graham_conversion_writes_its_own_recorded_set_beside_the_default(converted):
    dataset_dir, written, _, _ = converted
    default_tfrecords = sorted(glob.glob(os.path.join(dataset_dir, "tfrecords", "*")))
    before = {path: os.path.getmtime(path) for path in default_tfrecords}
    convert.run(dataset_dir, validation_size=6, num_workers=2, image_size=IMAGE_SIZE, num_shards=3, graham=True)
    assert {path: os.path.getmtime(path) for path in default_tfrecords} == before
    graham_dir = os.path.join(dataset_dir, "tfrecords_graham")
    assert convert.read_conversion(graham_dir)["settings"]["graham"] is True
    assert convert.read_conversion(os.path.join(dataset_dir, "tfrecords"))["settings"]["graham"] is False
    assert count_jpegs(os.path.join(dataset_dir, "processed_images_graham")) == count_jpegs(
        os.path.join(dataset_dir, "processed_images"))
    # Graham's images are grey around a normalised disc, the default ones black around a red one.
    name = next(iter(converted_rows(written)))
    [graham_path] = glob.glob(os.path.join(dataset_dir, "processed_images_graham", "*", "*", name + ".jpeg"))
    [plain_path] = glob.glob(os.path.join(dataset_dir, "processed_images", "*", "*", name + ".jpeg"))
    graham, plain = (np.asarray(Image.open(path), dtype=float) for path in (graham_path, plain_path))
    assert abs(graham[0, 0].mean() - 128) < 6 and plain[0, 0].mean() < 30
    assert abs(graham[IMAGE_SIZE // 2 - 5:IMAGE_SIZE // 2 + 5, IMAGE_SIZE // 2 - 5:IMAGE_SIZE // 2 + 5].mean() - 128) < 25
