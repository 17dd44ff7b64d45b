"""utils.model_description: one typed description of a trained model, its JSON form, and its walk to the SavedModel."""
import dataclasses
import json
import os

import numpy as np
import pytest

from utils import model_description, run_settings

# A run_settings.json as versions before the format version wrote it: no format_version, a conversion
# recorded before crop modes existed, a fitted grading and frequency cuts.
EARLIER_FILE = {
    "model_name": "inception_v3", "preprocessing_name": "fundus", "train_image_size": 128,
    "dataset_name": "diabetic", "num_classes": 5, "labels_offset": 0, "batch_norm_decay": 0.9,
    "freeze_batch_norm": False, "moving_average_decay": None, "regression_loss": "smooth_l1",
    "label_names": ["0", "1", "2", "3", "4"], "conversion": {"image_size": 128, "crop_threshold": 12, "graham": False},
    "class_prior": {"frequencies": [0.5, 0.2, 0.2, 0.05, 0.05], "sampled": [0.2] * 5},
    "grading": {"thresholds": [0.4, 1.4, 2.6, 3.5], "fitted_on": "model.ckpt-2 on validation", "score": "regression",
                "eye_fusion": {"weights": [0.1, 0.7, 0.3], "thresholds": [0.5, 1.5, 2.5, 3.5]}},
    "frequency_cuts": {"thresholds": [0.9, 1.9, 2.9, 3.9], "frequencies": [0.5, 0.2, 0.2, 0.05, 0.05],
                       "fitted_on": "model.ckpt-2 on train"},
    "a_key_of_a_later_version": 1,
}


def test_a_settings_file_written_before_format_versions_reads_into_the_typed_description():
    description = model_description.ModelDescription.from_json(EARLIER_FILE)
    assert description.image_size == 128 and description.preprocessing_name == "fundus"
    assert description.class_names == ("0", "1", "2", "3", "4") and description.regression
    assert description.conversion == model_description.Conversion(128, 12, False, run_settings.LEGACY_CROP_MODE)
    assert description.class_prior.factors() == pytest.approx((2.5, 1.0, 1.0, 0.25, 0.25))
    assert description.grading.cuts() == (0.4, 1.4, 2.6, 3.5)  # the fitted thresholds come before the frequency cuts
    assert description.grading.eye_fusion["weights"] == [0.1, 0.7, 0.3]
    without_fit = dataclasses.replace(description.grading, fitted=None)
    assert without_fit.cuts() == (0.9, 1.9, 2.9, 3.9) and without_fit.eye_fusion is None
    assert model_description.ModelDescription.from_json({"model_name": "lenet"}).grading.cuts() is None


def test_the_json_form_keeps_every_key_of_the_file_and_reads_back_equal():
    description = model_description.ModelDescription.from_json(EARLIER_FILE)
    written = description.to_json()
    assert written[run_settings.FORMAT_VERSION] == model_description.FORMAT_VERSION
    assert set(run_settings.MODEL_KEYS) <= set(written)
    assert {key: written[key] for key in EARLIER_FILE if key not in ("conversion", "a_key_of_a_later_version")} \
        == {key: value for key, value in EARLIER_FILE.items() if key not in ("conversion", "a_key_of_a_later_version")}
    assert written["conversion"] == {**EARLIER_FILE["conversion"], "crop_mode": run_settings.LEGACY_CROP_MODE}
    assert model_description.ModelDescription.from_json(json.loads(json.dumps(written))) == description


def test_with_settings_replaces_values_by_their_json_keys_conversion_ones_included():
    description = model_description.ModelDescription.from_json(EARLIER_FILE)
    merged = description.with_settings({"train_image_size": 160, "conversion.crop_mode": "disc"})
    assert merged.image_size == 160 and merged.conversion.crop_mode == "disc" and merged.conversion.image_size == 128
    assert merged.grading == description.grading and description.image_size == 128  # frozen: a new description


def test_a_newer_format_or_a_malformed_file_is_a_one_line_error_naming_it():
    with pytest.raises(ValueError, match=r"^T/run_settings.json: format_version 99, written by a newer version of "):
        model_description.ModelDescription.from_json({"format_version": 99}, "T/run_settings.json")
    with pytest.raises(ValueError, match=r"^T/run_settings.json: malformed settings") as error:
        model_description.ModelDescription.from_json({"model_name": "lenet", "conversion": [1, 2]},
                                                     "T/run_settings.json")
    assert "\n" not in str(error.value)


def test_record_grading_merges_the_fitted_parts_into_the_checkpoints_file(tmp_path):
    run_settings.record(str(tmp_path), {k: v for k, v in EARLIER_FILE.items() if k != "grading"})
    fitted = model_description.FittedGrading((0.5, 1.5, 2.5, 3.5), "here", model_description.EXPECTED_GRADE_SCORE)
    model_description.record_grading(str(tmp_path / "model.ckpt-3"), model_description.Grading(fitted=fitted))
    read = model_description.for_checkpoint(str(tmp_path))
    assert read.grading.fitted == fitted and read.grading.frequency_cuts.thresholds == (0.9, 1.9, 2.9, 3.9)


@pytest.mark.slow
def test_the_training_image_size_and_the_fitted_grading_walk_from_the_train_command_to_the_saved_model(
        tmp_path, tiny_diabetic_dir):
    from grading import thresholds
    from serving import saved_model_grader
    from tests.fine_tuning import train_in_process
    from tests.model_helpers import read_encoded_images, run_script

    train_dir, export_dir = str(tmp_path / "train"), str(tmp_path / "export")
    train_in_process([f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
                      f"--dataset_dir={tiny_diabetic_dir}", "--model_name=lenet", "--batch_size=4",
                      "--train_image_size=32", "--max_number_of_steps=2", "--optimizer=adam", "--seed=1"])
    assert model_description.for_checkpoint(train_dir).image_size == 32
    fitted = run_script("eval_image_classifier.py", f"--checkpoint_path={train_dir}",
                        f"--dataset_dir={tiny_diabetic_dir}", "--dataset_split_name=validation",
                        f"--eval_dir={tmp_path / 'eval'}", "--fit_grading", "--num_heatmaps=0")
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    cuts = model_description.for_checkpoint(train_dir).grading.cuts()
    assert len(cuts) == 4 and list(cuts) == sorted(cuts)
    exported = run_script("export_inference_graph.py", f"--checkpoint_path={train_dir}",
                          f"--saved_model_dir={export_dir}")
    assert exported.returncode == 0, exported.stderr[-3000:]

    from slim_compat import tf
    with tf.Graph().as_default(), tf.Session() as session:
        meta_graph = tf.saved_model.loader.load(session, [tf.saved_model.tag_constants.SERVING], export_dir)
        outputs = meta_graph.signature_def["metadata"].outputs
        size, settings = session.run([outputs["image_size"].name, outputs["run_settings"].name])
    served_description = model_description.ModelDescription.from_json(json.loads(settings))
    assert size == 32 and served_description.image_size == 32
    assert served_description.grading.cuts() == cuts
    encoded = read_encoded_images(tiny_diabetic_dir, "validation")
    grader = saved_model_grader.SavedModelGrader(export_dir)
    try:
        probabilities, grades = grader.graded(list(encoded.values()))
    finally:
        grader.close()
    np.testing.assert_array_equal(grades, thresholds.apply_thresholds(thresholds.expected_grade(probabilities), cuts))
    assert os.path.basename(json.loads(settings)["grading"]["fitted_on"].split(" on ")[0]) == "model.ckpt-2"
