"""The public DR datasets and Kaggle's test labels on generated samples in each distribution's layout.

Each layout (tests.public_dr_layouts) is converted and read back through dataset_factory with its
labels and extra features; bad rows and files are one report line each; Kaggle's solution file
gives labelled test shards; a model trained on diabetic is evaluated on a converted public dataset.
"""
import csv
import os

import pytest
from PIL import Image

from datasets import (convert_aptos2019, convert_ddr, convert_idrid, convert_messidor2, dataset_factory,
                      dataset_utils, diabetic, fundus_conversion, input_pipeline, kaggle_sample)
from datasets import download_and_convert_diabetic as convert_diabetic
from fundus import preparation as fundus_preparation
from slim_compat import slim, tf
from utils import eye_photos
from tests import public_dr_layouts
from tests.model_helpers import run_script
from tests.trained_run import CONVERSION

IMAGE_SIZE = 48
CONVERTERS = {"aptos2019": convert_aptos2019, "messidor2": convert_messidor2, "idrid": convert_idrid,
              "ddr": convert_ddr}
EXTRA_ITEMS = {item: (key, default) for key, (item, default) in dataset_utils.EXTRA_FEATURES.items()}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """{dataset name: (folder, what the conversion must write, exit status)}, each layout converted once."""
    result = {}
    for name, write in public_dr_layouts.WRITERS.items():
        folder = str(tmp_path_factory.mktemp(name))
        expected = write(folder)
        result[name] = folder, expected, CONVERTERS[name].run(folder, image_size=IMAGE_SIZE, num_workers=2)
    return result


def read_split(name, split, tfrecords_dir):
    """{image id: (label, {extra feature key: value})} of a split, read through the factory's decoder."""
    items = ["label", "filename", *EXTRA_ITEMS]
    rows = {}
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset(name, split, tfrecords_dir)
        provider = slim.dataset_data_provider.DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
        tensors = provider.get(items)
        with tf.Session() as session:
            session.run(tf.local_variables_initializer())
            coordinator = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(session, coordinator)
            try:
                while True:
                    values = dict(zip(items, session.run(tensors)))
                    extras = {EXTRA_ITEMS[item][0]: value.decode() if isinstance(value, bytes) else int(value)
                              for item, value in values.items()
                              if item in EXTRA_ITEMS and value not in (EXTRA_ITEMS[item][1], b"")}
                    rows[values["filename"].decode()] = (int(values["label"]), extras)
            except tf.errors.OutOfRangeError:
                pass
            coordinator.request_stop()
            coordinator.join(threads)
    return rows


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_every_split_reads_back_with_its_grades_and_extra_features(converted, name):
    folder, expected, status = converted[name]
    assert status == 0
    assert open(os.path.join(folder, fundus_conversion.REPORT_FILENAME)).read() == ""
    tfrecords = os.path.join(folder, "tfrecords")
    written = {split: rows for split, rows in expected.items() if rows}
    assert dataset_utils.read_split_sizes(tfrecords) == {split: len(rows) for split, rows in written.items()}
    for split, rows in written.items():
        assert read_split(name, split, tfrecords) == rows, split
    assert dataset_factory.has_dr_grades(name) and dataset_factory.get_num_classes(name) == 5


def test_ungradable_photos_of_the_graders_are_prepared_into_their_own_split(converted):
    folder, expected, _ = converted["ddr"]
    ungradable = os.path.join(folder, "processed_images", "test_ungradable", fundus_conversion.UNLABELLED_FOLDER)
    assert sorted(os.listdir(ungradable)) == sorted(name + ".jpeg" for name in expected["test_ungradable"])
    with pytest.raises(ValueError, match="'test_private' was not recognised"):
        dataset_factory.get_dataset("ddr", "test_private", os.path.join(folder, "tfrecords"))


def test_a_rerun_keeps_every_image_and_shard(converted):
    folder, _, _ = converted["messidor2"]
    tfrecords = os.path.join(folder, "tfrecords")
    before = {path: os.stat(os.path.join(tfrecords, path)).st_mtime_ns for path in os.listdir(tfrecords)}
    assert convert_messidor2.run(folder, image_size=IMAGE_SIZE, num_workers=2) == 0
    assert {path: os.stat(os.path.join(tfrecords, path)).st_mtime_ns for path in os.listdir(tfrecords)} == before


def test_png_and_tiff_photos_are_prepared_and_must_be_what_their_name_says(tmp_path):
    public_dr_layouts.Photographer(seed=2).save(str(tmp_path / "photo.png"), grade=2)
    photo = Image.open(tmp_path / "photo.png")
    photo.save(tmp_path / "photo.tif")
    photo.save(tmp_path / "jpeg.png", format="JPEG")
    for name in ("photo.png", "photo.tif"):
        image, crop, quality = fundus_preparation.prepare_fundus(str(tmp_path / name), image_size=IMAGE_SIZE)
        assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and crop.disc.found and quality.gradable, name
    with pytest.raises(fundus_preparation.BadImageError, match="not a PNG but JPEG"):
        fundus_preparation.prepare_fundus(str(tmp_path / "jpeg.png"), image_size=IMAGE_SIZE)


def report_lines(folder):
    return open(os.path.join(folder, fundus_conversion.REPORT_FILENAME)).read().splitlines()


def test_bad_rows_and_files_are_one_line_each_and_the_rest_is_converted(tmp_path):
    folder = str(tmp_path)
    expected = public_dr_layouts.write_ddr(folder, grades={"train": [0, 1, 2, 3, 4], "test": [2, 4]})
    root = os.path.join(folder, "DDR-dataset", "DR_grading")
    train = sorted(expected["train"])
    with open(os.path.join(root, "train.txt"), "a") as handle:
        handle.write(f"{train[0]}.jpg 3\nmissing.jpg 1\nbad.jpg 7\nthree fields here\n")
    open(os.path.join(root, "train", "unlisted.jpg"), "wb").write(b"not listed")
    with open(os.path.join(root, "test.txt"), "a") as handle:
        handle.write("corrupt.jpg 0\n")
    open(os.path.join(root, "test", "corrupt.jpg"), "wb").write(b"\xff\xd8 not a whole JPEG")
    assert convert_ddr.run(folder, image_size=IMAGE_SIZE, num_workers=2) == 1
    lines = report_lines(folder)
    train_txt = os.path.join(root, "train.txt")
    expected_lines = [
        f"error {train_txt} lines 1 and 6: image '{train[0]}' is listed with grades 0 and 3; neither is converted",
        f"error {train_txt} line 8: grade '7' is not a grade 0-4",
        f"error {train_txt} line 9: expected 2 fields 'name grade', got 3",
        f"warning {os.path.join(root, 'train', 'unlisted.jpg')}: not listed in train.txt; skipped",
        f"warning {os.path.join(root, 'train', 'missing.jpg')}: listed in train.txt but missing",
    ]
    for line in expected_lines:
        assert line in lines, "\n".join(lines)
    assert any(line.startswith(f"error {os.path.join(root, 'test', 'corrupt.jpg')}: ") for line in lines)
    assert len(lines) == len(expected_lines) + 1, "\n".join(lines)
    tfrecords = os.path.join(folder, "tfrecords")
    assert read_split("ddr", "train", tfrecords) == {name: row for name, row in expected["train"].items()
                                                     if name != train[0]}
    assert read_split("ddr", "test", tfrecords) == expected["test"]


def aptos_without_labels(folder):
    public_dr_layouts.write_aptos2019(folder, grades=(0,), num_test=0)
    os.remove(os.path.join(folder, "train.csv"))


@pytest.mark.parametrize("module, write, problem", [
    (convert_aptos2019, aptos_without_labels, "train.csv: no such labels file (APTOS 2019's train.csv)"),
    (convert_messidor2, lambda folder: open(os.path.join(folder, "messidor_data.csv"), "w").write("image_id,grade\n"),
     "messidor_data.csv: header is 'image_id,grade', expected 'image_id,adjudicated_dr_grade,adjudicated_dme,"
     "adjudicated_gradable'"),
    (convert_idrid, lambda folder: None, "no 2. Groundtruths/a. IDRiD_Disease Grading_Training Labels.csv or "),
    (convert_ddr, lambda folder: None, "no train.txt or valid.txt or test.txt in 'DR_grading' or "),
])
def test_a_folder_without_its_labels_is_a_one_line_error(tmp_path, module, write, problem):
    write(str(tmp_path))
    with pytest.raises(ValueError) as error:
        module.run(str(tmp_path), image_size=IMAGE_SIZE, num_workers=1)
    assert problem in str(error.value) and "\n" not in str(error.value)


def test_idrid_unpacked_one_level_deeper_converts_alike(tmp_path):
    nested = os.path.join(str(tmp_path), "B. Disease Grading")
    expected = public_dr_layouts.write_idrid(nested, grades={"train": [(2, 1)]})
    assert convert_idrid.run(str(tmp_path), image_size=IMAGE_SIZE, num_workers=1) == 0
    assert read_split("idrid", "train", os.path.join(str(tmp_path), "tfrecords")) == expected["train"]


def write_solution(folder, test_names):
    """Writes Kaggle's retinopathy_solution.csv for `test_names`; returns {split: {name: grade}}."""
    rows = [(name, index % 5, "Private" if index % 3 else "Public") for index, name in enumerate(test_names)]
    with open(os.path.join(folder, convert_diabetic.SOLUTION_CSV), "w", newline="") as handle:
        csv.writer(handle).writerows([("image", "level", "Usage"), *rows])
    return {split: {name: grade for name, grade, usage in rows if convert_diabetic.USAGE_SPLITS[usage] == split}
            for split in convert_diabetic.USAGE_SPLITS.values()}


def graded(rows):
    return {name: label for name, (label, _) in rows.items()}


def test_kaggle_solution_labels_the_test_photos_public_and_private(tmp_path):
    folder = str(tmp_path)
    written = kaggle_sample.write_kaggle_sample(folder, 4, (320, 420), seed=3, with_test=True)
    tfrecords = os.path.join(folder, "tfrecords")
    assert convert_diabetic.run(folder, validation_size=2, image_size=IMAGE_SIZE, num_workers=2) == 0
    assert {label for label, _ in read_split("diabetic", "test", tfrecords).values()} == {-1}
    truth = write_solution(folder, written["test"])
    assert convert_diabetic.run(folder, validation_size=2, image_size=IMAGE_SIZE, num_workers=2) == 0
    sizes = dataset_utils.read_split_sizes(tfrecords)
    assert {split: sizes.get(split) for split in diabetic.SPLITS[2:]} == {
        "test": None, "test_public": len(truth["test_public"]), "test_private": len(truth["test_private"])}
    public, private = (read_split("diabetic", split, tfrecords) for split in ("test_public", "test_private"))
    assert graded(public) == truth["test_public"] and graded(private) == truth["test_private"]
    assert {extras[dataset_utils.PATIENT_FEATURE] for _, extras in private.values()} == {
        eye_photos.patient_id(name) for name in truth["test_private"]}
    assert graded(read_split("diabetic", "test", tfrecords)) == {**truth["test_public"], **truth["test_private"]}
    assert not [name for name in os.listdir(tfrecords) if name.startswith("diabetic_test_0")]
    os.remove(os.path.join(folder, convert_diabetic.SOLUTION_CSV))
    assert convert_diabetic.run(folder, validation_size=2, image_size=IMAGE_SIZE, num_workers=2) == 0
    assert set(dataset_utils.read_split_sizes(tfrecords)) == {"train", "validation", "test"}
    assert not [name for name in os.listdir(tfrecords) if name.startswith("diabetic_test_p")]


def test_kaggle_solution_rows_are_checked_like_the_training_labels(tmp_path):
    folder = str(tmp_path)
    written = kaggle_sample.write_kaggle_sample(folder, 2, (320, 420), seed=4, with_test=True)
    first, second = written["test"][:2]
    with open(os.path.join(folder, convert_diabetic.SOLUTION_CSV), "w") as handle:
        handle.write(f"image,level,Usage\n{first},1,Private\n{second},2,Hidden\n")
    assert convert_diabetic.run(folder, validation_size=1, image_size=IMAGE_SIZE, num_workers=2) == 1
    lines = report_lines(folder)
    solution = os.path.join(folder, convert_diabetic.SOLUTION_CSV)
    assert f"error {solution} line 3: Usage 'Hidden' is not Public or Private" in lines
    assert f"warning {os.path.join(folder, 'test', second + '.jpeg')}: not listed in " \
           f"{convert_diabetic.SOLUTION_CSV}; skipped" in lines
    assert graded(read_split("diabetic", "test_private", os.path.join(folder, "tfrecords"))) == {first: 1}


@pytest.fixture(scope="module")
def messidor2_as_trained(tmp_path_factory):
    """A Messidor-2 sample converted by download_and_convert_data.py as the trained run's photos were."""
    folder = str(tmp_path_factory.mktemp("messidor2_as_trained"))
    expected = public_dr_layouts.write_messidor2(folder, seed=1)
    run = run_script("download_and_convert_data.py", "--dataset_name=messidor2", f"--dataset_dir={folder}",
                     *(f"--{name}={value}" for name, value in CONVERSION.items()))
    assert run.returncode == 0, run.stderr[-3000:]
    return os.path.join(folder, "tfrecords"), expected


def eval_flags(train_dir, tfrecords, eval_dir, *extra):
    return [f"--checkpoint_path={train_dir}", f"--dataset_dir={tfrecords}", f"--eval_dir={eval_dir}",
            "--batch_size=4", "--num_heatmaps=0", *extra]


@pytest.mark.slow
def test_a_model_trained_on_diabetic_is_evaluated_on_messidor2(trained_run, messidor2_as_trained, tmp_path):
    train_dir, _, _ = trained_run
    tfrecords, expected = messidor2_as_trained
    predictions = tmp_path / "predictions.csv"
    run = run_script("eval_image_classifier.py", "--dataset_name=messidor2",
                     *eval_flags(train_dir, tfrecords, tmp_path / "eval", f"--predictions_file={predictions}"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "eval/QuadraticWeightedKappa[" in run.stdout + run.stderr
    with open(predictions) as handle:
        assert {row["image"]: int(row["label"]) for row in csv.DictReader(handle)} == graded(expected["test"])


@pytest.mark.parametrize("dataset_name, problem", [
    ("flowers", "--dataset_name=flowers contradicts the checkpoint's training run (dataset_name=diabetic in "),
    ("messidor2", "its photos were prepared with crop_threshold=10, image_size=48, the checkpoint's training "
                  "photos with crop_threshold=12, image_size=128; convert it again with --crop_threshold=12 "
                  "--image_size=128, or add --override_run_settings"),
])
@pytest.mark.slow
def test_another_class_meaning_or_preparation_is_a_one_line_error(trained_run, converted, tmp_path, dataset_name,
                                                                  problem):
    train_dir, _, _ = trained_run
    tfrecords = os.path.join(converted["messidor2"][0], "tfrecords")
    run = run_script("eval_image_classifier.py", f"--dataset_name={dataset_name}",
                     *eval_flags(train_dir, tfrecords, tmp_path / "eval"))
    assert run.returncode == 1
    last_line = run.stderr.strip().splitlines()[-1]
    assert last_line.startswith("eval_image_classifier.py: ") and problem in last_line, last_line


def test_an_evaluation_pass_carries_each_photos_patient_and_dme(converted):
    folder, expected, _ = converted["messidor2"]
    carried = {}
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("messidor2", "test", os.path.join(folder, "tfrecords"))
        batches = input_pipeline.build_batches(
            dataset, lambda image, height, width, add_image_summaries: tf.image.resize(image, [height, width]),
            image_size=32, batch_size=4, is_training=False)
        with tf.Session() as session:
            try:
                while True:
                    batch = session.run(batches)
                    for name, patient, dme in zip(batch["filenames"], batch["patient"], batch["dme"]):
                        carried[name.decode()] = (patient.decode(), int(dme))
            except tf.errors.OutOfRangeError:
                pass
    assert carried == {name: (extras.get(dataset_utils.PATIENT_FEATURE, ""), extras.get(dataset_utils.DME_FEATURE, -1))
                       for name, (_, extras) in expected["test"].items()}
    assert any(patient for patient, _ in carried.values()) and any(dme >= 0 for _, dme in carried.values())
