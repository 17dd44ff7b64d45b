"""export_inference_graph.py --tflite: graders of prepared images run by LiteRT, as eval grades them."""
import glob
import json
import os
import sys

import numpy as np
import pytest

from inference import model_runner, split_images
from serving import saved_model_grader, tflite_export, tflite_grader
from tests.model_helpers import run_script, run_together, save_random_checkpoints, split_predictions
from tests.trained_run import CONVERSION, TRAIN_SETTINGS
from slim_compat import tf
from utils import atomic_files, model_description

pytestmark = pytest.mark.slow  # exports SavedModels and converts them to TFLite

SIZE = TRAIN_SETTINGS["train_image_size"]
# int8 against float32 on the trained run's validation and test images (12): a 2-step model's probabilities lie
# within a few hundredths of each other, so a flip or two is allowed (measured: all equal, largest probability
# difference 0.002; the demo's 300-step model: 59 of 60 validation grades, see docs/results.md).
INT8_MIN_AGREEMENT = 0.8
MOBILENETS = ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large")
MOBILENET_SIZE = 96
# Written next to the TFLite files by the float32 export.
SAVED_MODEL = "saved_model"


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    """Exports the trained run at each precision with the command line, the three at once; returns
    {precision: (path, output)}.

    The float32 export also writes the SavedModel, to SAVED_MODEL in the same folder.
    """
    train_dir, tfrecords, _ = trained_run
    directory = tmp_path_factory.mktemp("tflite")
    paths = {precision: str(directory / f"grader_{precision}.tflite") for precision in tflite_export.PRECISIONS}
    commands = [([sys.executable, "export_inference_graph.py", f"--checkpoint_path={train_dir}", f"--tflite={path}",
                  f"--tflite_precision={precision}", f"--dataset_dir={tfrecords}",
                  *([f"--saved_model_dir={directory / SAVED_MODEL}"] if precision == "float32" else [])], None)
                for precision, path in paths.items()]
    files = {}
    for (precision, path), run in zip(paths.items(), run_together(commands)):
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-3000:]
        files[precision] = (path, output)
    return files


@pytest.fixture(scope="module")
def validation(trained_run):
    """(the validation images as a device feeds them, the model runner's predictions of them, in the same order)."""
    train_dir, tfrecords, _ = trained_run
    images = split_images.read_split("diabetic", "validation", tfrecords, SIZE)
    config = model_runner.ModelConfig.from_description(model_description.for_checkpoint(train_dir))
    expected = split_predictions(tfrecords, os.path.join(train_dir, "model.ckpt-2"), "validation", config)
    assert expected.filenames == images.filenames
    return images, expected


def graded(path, images):
    return tflite_grader.TFLiteGrader(path).outputs(images)


def test_float32_gives_the_evaluators_probabilities_and_grades(exported, validation):
    images, expected = validation
    outputs = graded(exported["float32"][0], images.images)
    np.testing.assert_allclose(outputs["probabilities"], expected.probabilities, atol=1e-4)
    np.testing.assert_array_equal(outputs["grade"], expected.grades)


def test_camera_photos_prepared_in_python_get_the_saved_models_grades(exported, trained_run):
    path, _ = exported["float32"]
    photos = sorted(glob.glob(os.path.join(trained_run[2], "*.jpeg")))
    metadata = tflite_export.read_sidecar(path)
    images = np.array([tflite_grader.prepare_photo(photo, metadata)[0] for photo in photos])
    saved_model = saved_model_grader.SavedModelGrader(os.path.join(os.path.dirname(path), SAVED_MODEL))
    try:
        probabilities, grades = saved_model.graded([open(photo, "rb").read() for photo in photos])
    finally:
        saved_model.close()
    outputs = graded(path, images)
    np.testing.assert_allclose(outputs["probabilities"], probabilities, atol=1e-4)
    np.testing.assert_array_equal(outputs["grade"], grades)


def test_float16_is_close_and_int8_grades_mostly_agree(exported, validation, trained_run):
    images, expected = validation
    half = graded(exported["float16"][0], images.images)
    assert np.abs(half["probabilities"] - expected.probabilities).max() < 1e-3
    # More images than the 6 of validation: the unlabelled test split too (int8 was calibrated on train).
    test = split_images.read_split("diabetic", "test", trained_run[1], SIZE).images
    pixels = np.concatenate([images.images, test])
    full, quantised = graded(exported["float32"][0], pixels), graded(exported["int8"][0], pixels)
    assert (quantised["grade"] == full["grade"]).mean() >= INT8_MIN_AGREEMENT
    assert np.abs(quantised["probabilities"] - full["probabilities"]).max() < 0.05


def test_interpreters_take_uint8_images_and_give_float_probabilities(exported):
    for precision, (path, _) in exported.items():
        for interpreter in tflite_grader.INTERPRETERS:
            model = tflite_grader.interpreter_class(interpreter)(model_path=path)
            [image] = model.get_input_details()
            assert image["dtype"] == np.uint8 and list(image["shape"]) == [1, SIZE, SIZE, 3], precision
            outputs = {detail["name"]: detail["dtype"] for detail in model.get_output_details()}
            assert outputs == {"probabilities": np.float32, "grade": np.int64}, precision


def test_sidecar_tells_the_preparation_and_grading_and_no_path_of_this_machine(exported, trained_run):
    path, output = exported["int8"]
    with open(tflite_export.sidecar_path(path), encoding="utf-8") as handle:
        text = handle.read()
    sidecar = json.loads(text)
    assert sidecar["precision"] == "int8" and sidecar["model_name"] == "inception_v3"
    assert sidecar["input"] == {"name": "image", "dtype": "uint8", "shape": [1, SIZE, SIZE, 3]}
    assert set(sidecar["outputs"]) == {"probabilities", "grade"}
    assert sidecar["grade_names"] == ["0", "1", "2", "3", "4"]
    assert (sidecar["prepare_image_size"], sidecar["crop_threshold"], sidecar["crop_mode"], sidecar["graham"]) == (
        CONVERSION["image_size"], CONVERSION["crop_threshold"], "disc", CONVERSION["graham"])
    assert sidecar["preprocessing_name"] == "fundus" and sidecar["image_size"] == SIZE
    assert (sidecar["checkpoint"], sidecar["global_step"]) == ("model.ckpt-2", 2)
    assert sidecar["grade_thresholds"] is None and sidecar["grading"] is None
    assert trained_run[0] not in text and trained_run[1] not in text
    assert f"written to {path}, its metadata to {tflite_export.sidecar_path(path)}\n" in output
    assert "grappler" not in output and "deprecated" not in output


@pytest.mark.parametrize("model_name", MOBILENETS)
def test_mobilenets_convert_and_give_the_evaluators_probabilities(model_name, tmp_path, tiny_diabetic_dir):
    [checkpoint] = save_random_checkpoints(str(tmp_path), [1], model_name=model_name, image_size=MOBILENET_SIZE)
    config = model_runner.ModelConfig(model_name, num_classes=5, image_size=MOBILENET_SIZE)
    images = split_images.read_split("diabetic", "validation", tiny_diabetic_dir, MOBILENET_SIZE)
    expected = split_predictions(tiny_diabetic_dir, checkpoint, "validation", config)
    path = str(tmp_path / "grader.tflite")
    tflite_export.write(path, tflite_export.convert(checkpoint, config, MOBILENET_SIZE, "float32"), {})
    np.testing.assert_allclose(graded(path, images.images)["probabilities"], expected.probabilities, atol=1e-4)


def test_a_regression_head_is_an_output_and_its_thresholds_cut_the_grade(tmp_path, tiny_diabetic_dir):
    config = model_runner.ModelConfig("mobilenet_v3_small", num_classes=5, image_size=MOBILENET_SIZE, regression=True,
                                      thresholds=(0.5, 1.5, 2.5, 3.5))
    images = split_images.read_split("diabetic", "validation", tiny_diabetic_dir, MOBILENET_SIZE).images
    checkpoint = str(tmp_path / "model.ckpt-1")
    with tf.Graph().as_default():
        image, outputs = tflite_export.build_graph(config, MOBILENET_SIZE)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            tf.train.Saver().save(session, checkpoint)
            expected = [session.run(outputs, {image: pixels[None]}) for pixels in images]
    for precision, tolerance in (("float32", 1e-4), ("int8", 0.5)):
        path = str(tmp_path / f"{precision}.tflite")
        tflite_export.write(path, tflite_export.convert(checkpoint, config, MOBILENET_SIZE, precision, images), {})
        served = graded(path, images)
        assert set(served) == {"probabilities", "grade", "regression"}
        regression = np.concatenate([values["regression"] for values in expected])
        np.testing.assert_allclose(served["regression"], regression, atol=tolerance)
        np.testing.assert_array_equal(served["grade"], np.digitize(served["regression"], config.thresholds))


def test_int8_keeps_the_last_layer_float_and_the_rest_integer(exported):
    path, _ = exported["int8"]
    with open(path, "rb") as handle:
        head = tflite_export.head_tensors(handle.read())
    assert any("Logits/Conv2d_1c_1x1" in name for name in head) and "probabilities" in head
    model = tflite_grader.interpreter_class("litert")(model_path=path)
    types = {detail["name"]: detail["dtype"] for detail in model.get_tensor_details()}
    assert types["InceptionV3/InceptionV3/Mixed_7c/concat"] == np.int8


@pytest.mark.parametrize("flags, message", [
    (["--tflite_precision=int4"], "--tflite_precision=int4: must be one of float32, float16, int8"),
    (["--tflite_precision=int8"], "--tflite_precision=int8 calibrates on training images: give --dataset_dir"),
    (["--model_name=i3d", "--override_run_settings"], "--model_name=i3d is a video network"),
])
def test_refusals_are_one_line_and_write_nothing(trained_run, tmp_path, flags, message):
    path = tmp_path / "grader.tflite"
    run = run_script("export_inference_graph.py", f"--checkpoint_path={trained_run[0]}", f"--tflite={path}", *flags)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith(f"export_inference_graph.py: {message}")
    assert os.listdir(tmp_path) == []


def test_a_failed_write_leaves_neither_file_and_keeps_what_was_there(tmp_path):
    path = str(tmp_path / "grader.tflite")
    tflite_export.write(path, b"old model", {"precision": "float32"})
    with pytest.raises(TypeError):
        tflite_export.write(path, b"new model", {"precision": object()})
    with open(path, "rb") as handle:
        assert handle.read() == b"old model"
    assert tflite_export.read_sidecar(path) == {"precision": "float32"}
    assert not any(atomic_files.is_temporary(name) for name in os.listdir(tmp_path))
