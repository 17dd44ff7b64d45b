"""DICOM to training, end to end: dirty diagnosis field -> PNGs + labels.csv -> TFRecords -> slim -> a train step."""
import csv
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from datasets import convert_labelled_images, dataset_factory
from dicom_samples import write_ct_slice
from dicom_tools.export import write_png
from slim_compat import tf
from test_dicom_bundled_files import read_png

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A few clean values hold almost everything; typos form the long tail.
DIAGNOSES = ["normal"] * 12 + ["nodule"] * 9 + ["Nodule ", "nodul", "normla"]


def run_script(script, *arguments):
    completed = subprocess.run([sys.executable, script, *arguments], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=300)
    return completed.returncode, completed.stdout + completed.stderr


def draw_slice(diagnosis, rng):
    """A 32x32 CT-like slice in stored values (intercept -1024): soft tissue, plus a dense disc for nodules."""
    hounsfield = rng.normal(40, 20, (32, 32))
    if diagnosis.lower().startswith("nod"):
        rows, cols = np.ogrid[:32, :32]
        hounsfield[(rows - 16) ** 2 + (cols - 16) ** 2 < 36] = 150
    return (hounsfield + 1024).astype(np.int16)


@pytest.fixture(scope="module")
def dicom_study(tmp_path_factory):
    """Folder of CT slices whose AdmittingDiagnosesDescription is dirty; one multi-frame 'normal' file."""
    folder = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    for number, diagnosis in enumerate(DIAGNOSES):
        write_ct_slice(str(folder / f"patient{number % 4}" / f"slice{number:02d}.dcm"), draw_slice(diagnosis, rng),
                       RescaleSlope=1, RescaleIntercept=-1024, WindowCenter=40, WindowWidth=400,
                       AdmittingDiagnosesDescription=diagnosis)
    frames = np.stack([draw_slice("normal", rng) for _ in range(2)])
    write_ct_slice(str(folder / "patient0" / "cine.dcm"), frames, RescaleSlope=1, RescaleIntercept=-1024,
                   WindowCenter=40, WindowWidth=400, AdmittingDiagnosesDescription="normal")
    return str(folder)


@pytest.fixture(scope="module")
def converted(dicom_study, tmp_path_factory):
    """dicom_to_png.py with a label tag, then download_and_convert_data.py on its output."""
    png_dir = str(tmp_path_factory.mktemp("png"))
    status, log = run_script("dicom_to_png.py", f"--input_dir={dicom_study}", f"--output_dir={png_dir}",
                             "--label_tag=AdmittingDiagnosesDescription", "--min_label_count=3")
    assert status == 0, log
    export_log = log
    status, log = run_script("download_and_convert_data.py", "--dataset_name=labelled_images",
                             f"--dataset_dir={png_dir}", "--validation_fraction=0.25", "--num_shards=2")
    assert status == 0, log
    return png_dir, export_log


def labels_csv_rows(png_dir):
    with open(os.path.join(png_dir, "labels.csv"), newline="") as handle:
        return {row["image"]: row["label"] for row in csv.DictReader(handle)}


def decode_split(split_name, dataset_dir):
    """Reads every example of a split through the dataset's slim decoder; returns [(image, label, filename)]."""
    dataset = dataset_factory.get_dataset("labelled_images", split_name, dataset_dir)
    records = [record for path in sorted(glob.glob(dataset.data_sources))
               for record in tf.io.tf_record_iterator(path)]
    with tf.Graph().as_default():
        serialized = tf.placeholder(tf.string, [])
        items = dataset.decoder.decode(serialized, ["image", "label", "filename"])
        with tf.Session() as session:
            decoded = [session.run(items, {serialized: record}) for record in records]
    return dataset, [(image, int(label), filename.decode()) for image, label, filename in decoded]


@pytest.mark.slow
def test_export_keeps_the_clean_values_and_reports_the_typos(converted):
    png_dir, export_log = converted
    rows = labels_csv_rows(png_dir)
    assert sorted(set(rows.values())) == ["nodule", "normal"] and len(rows) == 12 + 9 + 2
    assert "dropped 3 files with 3 values not kept as labels" in export_log
    assert "exported 25 files (26 images), skipped 0, failed 0" in export_log
    assert rows["patient0/cine_frame0001.png"] == rows["patient0/cine_frame0002.png"] == "normal"


@pytest.mark.slow
def test_tfrecords_decode_through_slim_to_the_exported_pixels_and_labels(converted):
    png_dir, _ = converted
    dataset_dir = os.path.join(png_dir, "tfrecords")
    rows = labels_csv_rows(png_dir)
    seen = {}
    for split_name in ("train", "validation"):
        dataset, examples = decode_split(split_name, dataset_dir)
        assert dataset.num_samples == len(examples) and dataset.num_classes == 2
        assert dataset.labels_to_names == {0: "nodule", 1: "normal"}
        for image, label, filename in examples:
            exported, _ = read_png(os.path.join(png_dir, filename))
            assert image.shape == (32, 32, 3) and np.array_equal(image, np.repeat(exported, 3, axis=2))
            assert dataset.labels_to_names[label] == rows[filename]
            seen[filename] = split_name
    assert sorted(seen) == sorted(rows)
    assert list(seen.values()).count("validation") in (5, 6, 7)
    assert seen["patient0/cine_frame0001.png"] == seen["patient0/cine_frame0002.png"]


@pytest.mark.slow
def test_one_training_step_runs_on_the_dicom_derived_tfrecords(converted, tmp_path):
    png_dir, _ = converted
    status, log = run_script("train_image_classifier.py", f"--train_dir={tmp_path}",
                             "--dataset_name=labelled_images", "--dataset_split_name=train",
                             f"--dataset_dir={os.path.join(png_dir, 'tfrecords')}", "--model_name=inception_v3",
                             "--batch_size=2", "--train_image_size=128", "--max_number_of_steps=1",
                             "--log_every_n_steps=1")
    assert status == 0, log[-3000:]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-1")


def test_missing_images_are_reported_and_the_rest_converted(tmp_path):
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        write_png(str(image_dir / name), np.full((4, 4), 9, np.uint8))
    (image_dir / "labels.csv").write_text("image,label\na.png,x\nb.png,y\nc.png,x\ngone.png,y\n")
    assert convert_labelled_images.run(str(image_dir), validation_fraction=0.0) == 1
    dataset = dataset_factory.get_dataset("labelled_images", "train", str(image_dir / "tfrecords"))
    assert dataset.num_samples == 3 and dataset.labels_to_names == {0: "x", 1: "y"}


def test_an_image_listed_with_two_labels_is_left_out_and_one_listed_twice_kept_once(tmp_path, caplog):
    for name in ("a.png", "b.png", "c.png"):
        write_png(str(tmp_path / name), np.full((4, 4), 9, np.uint8))
    (tmp_path / "labels.csv").write_text("image,label\na.png,x\nb.png,y\nc.png,x\na.png,y\nb.png,y\n")
    assert convert_labelled_images.run(str(tmp_path), validation_fraction=0.0) == 1
    _, examples = decode_split("train", str(tmp_path / "tfrecords"))
    assert sorted(filename for _, _, filename in examples) == ["b.png", "c.png"]
    labels_csv = tmp_path / "labels.csv"
    assert f"{labels_csv} lines 2 and 5: image 'a.png' is listed with labels 'x' and 'y'; neither is converted" \
        in caplog.text
    assert f"{labels_csv} lines 3 and 6: image 'b.png' is listed twice with the same label 'y'; converted once" \
        in caplog.text


def test_labels_csv_without_its_header_is_refused(tmp_path):
    (tmp_path / "labels.csv").write_text("a.png,x\n")
    with pytest.raises(ValueError, match="needs the header 'image,label'"):
        convert_labelled_images.run(str(tmp_path))
