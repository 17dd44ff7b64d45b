"""The SavedModel is the whole grader: camera photographs in, predict's grades out, exported without flags."""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from PIL import Image

from fundus import degradations
from inference import image_folder, model_runner
from serving import saved_model_export, saved_model_grader
from slim_compat import tf
from utils import model_description, run_settings
from tests.model_helpers import REPO_ROOT, read_encoded_images, run_script, split_predictions
from tests.trained_run import CONVERSION, TRAIN_STEPS

pytestmark = pytest.mark.slow  # exports SavedModels and runs the scripts

CONVERSION_SIZE = CONVERSION["image_size"]


def exported_run(trained, tmp_path_factory):
    """A convert_and_train run and its SavedModel, exported with no flag but the checkpoint and the output folder."""
    train_dir, tfrecords, photos = trained
    export_dir = os.path.join(str(tmp_path_factory.mktemp("export")), "1")
    run = run_script("export_inference_graph.py", f"--checkpoint_path={train_dir}", f"--saved_model_dir={export_dir}")
    assert run.returncode == 0, run.stderr[-3000:]
    return {"tfrecords": tfrecords, "train_dir": train_dir, "export_dir": export_dir, "photos": photos}


@pytest.fixture(scope="module")
def raw_run(trained_run, tmp_path_factory):
    """The shared run and its SavedModel."""
    return exported_run(trained_run, tmp_path_factory)


@pytest.fixture(scope="module")
def graham_run(trained_run, tmp_path_factory):
    """The shared run's checkpoint recorded as trained on --graham photographs, and its SavedModel.

    What prepares a photograph is the recorded conversion alone (predict and export read nothing else),
    so a copy of the run with `graham` recorded stands for a run trained on Graham-normalised images
    without a second conversion and training.
    """
    train_dir, tfrecords, photos = trained_run
    graham_dir = os.path.join(str(tmp_path_factory.mktemp("graham_run")), "train")
    shutil.copytree(train_dir, graham_dir)
    latest = os.path.basename(tf.train.latest_checkpoint(train_dir))
    tf.train.update_checkpoint_state(graham_dir, latest)  # the copy's own files, not the shared run's
    recorded = run_settings.read(graham_dir)[run_settings.CONVERSION]
    run_settings.record(graham_dir, {run_settings.CONVERSION: {**recorded, "graham": True}})
    assert model_description.for_checkpoint(graham_dir).conversion.graham
    return exported_run((graham_dir, tfrecords, photos), tmp_path_factory)


def read_files(paths):
    encoded = []
    for path in paths:
        with open(path, "rb") as handle:
            encoded.append(handle.read())
    return encoded


def served_probabilities(export_dir, encoded_images):
    """The SavedModel's probabilities of encoded images, loaded in this process."""
    grader = saved_model_grader.SavedModelGrader(export_dir)
    try:
        return grader.probabilities(encoded_images, batch_size=4)
    finally:
        grader.close()


def test_prepared_images_give_what_eval_gives(raw_run):
    """The validation split's JPEGs (as prepared by the conversion) through the SavedModel: eval's probabilities."""
    tfrecords = raw_run["tfrecords"]
    config = model_runner.ModelConfig.from_description(model_description.for_checkpoint(raw_run["train_dir"]))
    expected = split_predictions(tfrecords, tf.train.latest_checkpoint(raw_run["train_dir"]), "validation", config)
    encoded = read_encoded_images(tfrecords, "validation")
    served = served_probabilities(raw_run["export_dir"], [encoded[name] for name in expected.filenames])
    assert len(expected.filenames) >= 6
    np.testing.assert_allclose(served, expected.probabilities, atol=1e-4)


@pytest.mark.parametrize("graham", [False, True])
def test_camera_photographs_get_the_grades_of_predict(request, tmp_path, graham):
    """Raw photographs through the SavedModel: predict --image_dir's grade for every one, probabilities within 0.01;
    for a model trained on Graham-normalised images too, which the SavedModel's metadata says."""
    exported = request.getfixturevalue("graham_run" if graham else "raw_run")
    submission_file = tmp_path / "submission.csv"
    run = run_script("predict_image_classifier.py", f"--checkpoint_path={exported['train_dir']}",
                     f"--image_dir={exported['photos']}", f"--submission_file={submission_file}")
    assert run.returncode == 0, run.stderr[-3000:]
    with open(submission_file) as handle:
        predicted_grades = {row["image"]: int(row["level"]) for row in csv.DictReader(handle)}
    photos = image_folder.list_images(exported["photos"])
    assert sorted(predicted_grades) == sorted(photos) and len(photos) >= 6
    served = served_probabilities(exported["export_dir"], read_files(photos.values()))
    assert dict(zip(photos, served.argmax(axis=1).tolist())) == predicted_grades
    # predict's probabilities, by the script's own pipeline (Pillow preparation, then the checkpoint).
    description = model_description.for_checkpoint(exported["train_dir"])
    with tempfile.TemporaryDirectory() as work_dir:
        prepared, _, _ = image_folder.prepare_photos(photos, work_dir, CONVERSION_SIZE, CONVERSION["crop_threshold"],
                                                     graham)
        expected = model_runner.collect_predictions(
            tf.train.latest_checkpoint(exported["train_dir"]), model_runner.ModelConfig.from_description(description),
            image_folder.folder_batches(prepared, 4), len(prepared))
    by_name = dict(zip(photos, served))
    difference = np.abs(np.array([by_name[name] for name in expected.filenames]) - expected.probabilities).max()
    print(f"largest probability difference SavedModel vs predict on {len(photos)} photographs: {difference:.5f}")
    assert difference < 0.01
    with tf.Graph().as_default(), tf.Session() as session:
        meta_graph = tf.saved_model.loader.load(session, [tf.saved_model.tag_constants.SERVING], exported["export_dir"])
        assert session.run(meta_graph.signature_def["metadata"].outputs["graham"].name) == graham


def test_metadata_and_plain_tensorflow_2_loading_without_warnings(raw_run):
    """A fresh TensorFlow 2 process (no slim_compat) loads the model, reads its metadata and grades a photo."""
    photo = sorted(image_folder.list_images(raw_run["photos"]).values())[0]
    script = """
import json, sys
import numpy as np
import tensorflow as tf

def plain(value):
    value = value.tolist() if isinstance(value, np.ndarray) else value.item() if isinstance(value, np.generic) else value
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value.decode() if isinstance(value, bytes) else value

model = tf.saved_model.load(sys.argv[1])
metadata = {name: plain(tensor.numpy()) for name, tensor in model.signatures["metadata"]().items()}
outputs = model.signatures["serving_default"](image_bytes=tf.constant([open(sys.argv[2], "rb").read()]))
print(json.dumps({"metadata": metadata, "grade": int(outputs["grade"].numpy()[0]),
                  "probabilities": outputs["probabilities"].numpy()[0].tolist()}))
"""
    run = subprocess.run([sys.executable, "-c", script, raw_run["export_dir"], photo], capture_output=True,
                         text=True, timeout=300, cwd=tempfile.gettempdir())
    assert run.returncode == 0, run.stderr[-3000:]
    assert "reference variable" not in run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith(("W0", "W1", "WARNING"))
                and "absl::InitializeLog" not in line]
    assert warnings == []
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    metadata = answer["metadata"]
    assert metadata["grade_names"] == ["0", "1", "2", "3", "4"]
    assert metadata["image_size"] == 128 and metadata["prepare_image_size"] == CONVERSION_SIZE
    assert metadata["crop_threshold"] == CONVERSION["crop_threshold"] and metadata["preprocessing_name"] == "fundus"
    assert metadata["crop_mode"] == "disc" and metadata["graham"] is False
    assert metadata["model_name"] == "inception_v3" and metadata["global_step"] == TRAIN_STEPS
    assert metadata["checkpoint"] == f"model.ckpt-{TRAIN_STEPS}"
    assert json.loads(metadata["run_settings"])["train_image_size"] == 128
    served = served_probabilities(raw_run["export_dir"], read_files([photo]))
    np.testing.assert_allclose(answer["probabilities"], served[0], atol=1e-5)
    assert answer["grade"] == int(served[0].argmax())


def test_saved_model_cli_runs_the_serving_signature(raw_run, tmp_path):
    photo = sorted(image_folder.list_images(raw_run["photos"]).values())[0]
    inputs = tmp_path / "photo.npy"
    np.save(inputs, np.array(read_files([photo])))
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    run = subprocess.run([cli, "run", "--dir", raw_run["export_dir"], "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", f"{saved_model_export.SERVING_INPUT}={inputs}"],
                         capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    served = served_probabilities(raw_run["export_dir"], read_files([photo]))
    assert "Result for output key grade:" in run.stdout
    assert f"[{served[0].argmax()}]" in run.stdout.split("Result for output key grade:")[1]


def test_the_saved_model_and_predict_judge_the_same_photo_ungradable(raw_run, tmp_path):
    """A darkened copy among camera photographs: `gradable` is False for it alone, and predict lists it alone."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = sorted(image_folder.list_images(raw_run["photos"]).items())[:3]
    for name, path in photos:
        shutil.copy(path, folder / f"{name}.jpeg")
    degradations.darkened(Image.open(photos[0][1])).save(folder / "900_left.jpeg", format="JPEG", quality=90)
    images = image_folder.list_images(str(folder))
    grader = saved_model_grader.SavedModelGrader(raw_run["export_dir"])
    try:
        served = dict(zip(images, grader.gradable(read_files(images.values()))))
    finally:
        grader.close()
    assert served == {name: name != "900_left" for name in images}
    submission_file = tmp_path / "submission.csv"
    run = run_script("predict_image_classifier.py", f"--checkpoint_path={raw_run['train_dir']}",
                     f"--image_dir={folder}", f"--submission_file={submission_file}")
    assert run.returncode == 0, run.stderr[-3000:]
    with open(submission_file) as handle:
        assert sorted(row["image"] for row in csv.DictReader(handle)) == sorted(images)
    with open(image_folder.ungradable_list_path(str(submission_file))) as handle:
        listed = list(csv.DictReader(handle))
    assert [row["image"] for row in listed] == ["900_left"] and "too dark" in listed[0]["problems"]
