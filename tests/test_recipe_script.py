"""scripts/finetune_inception_v3_on_diabetic.sh on a user's Kaggle-layout folder with CHECKPOINT_PATH=none.

With no ImageNet checkpoint it trains from random initialisation with the demo's settings;
RECIPE=kaggle adds the Kaggle-winner options on top. The run is tiny (a few steps at the
network's smallest size): what is checked is that every stage runs on the user's folder,
records what it did, and leaves the outputs a user looks at, not how well it grades. The Kaggle-mode run and
the MobileNet run start together (tests.model_helpers.run_together).
"""
import csv
import json
import os
import shutil
import subprocess

import pytest

from datasets import kaggle_sample
from grading import class_prior, fitting
from tests.model_helpers import run_together
from slim_compat import tf
from utils import run_settings

pytestmark = pytest.mark.slow  # runs the recipe script end to end

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "finetune_inception_v3_on_diabetic.sh")
TINY_RUN = {"CHECKPOINT_PATH": "none", "TRAIN_STEPS": "3", "IMAGE_SIZE": "112", "BATCH_SIZE": "4",
            "VALIDATION_SIZE": "8", "SEED": "3"}
NUM_PATIENTS = 12


def script_command(dataset_dir, output_dir, **environment):
    """The script's arguments and environment for a tiny run on `dataset_dir` into `output_dir`."""
    env = dict(os.environ, OUTPUT_DIR=str(output_dir), **{**TINY_RUN, **environment})
    return ["bash", SCRIPT, str(dataset_dir)], env


def run_script(dataset_dir, output_dir, **environment):
    arguments, env = script_command(dataset_dir, output_dir, **environment)
    return subprocess.run(arguments, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def kaggle_dir(tmp_path_factory):
    dataset_dir = tmp_path_factory.mktemp("kaggle")
    kaggle_sample.write_kaggle_sample(str(dataset_dir), NUM_PATIENTS, (400, 500), seed=3, with_test=True)
    return dataset_dir


@pytest.fixture(scope="module")
def runs(kaggle_dir, tmp_path_factory):
    """{run: (output dir, printed output)}: RECIPE=kaggle ("recipe") and MODEL=mobilenet_v3_small with TFLITE
    ("mobilenet"), which converts its own copy of the photographs (the other run converts the same ones into
    the same folder at the same time)."""
    mobilenet_photos = tmp_path_factory.mktemp("mobilenet_photos") / "kaggle"
    shutil.copytree(kaggle_dir, mobilenet_photos)
    # float32: the script hands TFLITE to the export as it is; int8's calibration is tests/test_tflite_export.py's.
    planned = {"recipe": (kaggle_dir, tmp_path_factory.mktemp("recipe"), {"RECIPE": "kaggle"}),
               "mobilenet": (mobilenet_photos, tmp_path_factory.mktemp("mobilenet"),
                             {"MODEL": "mobilenet_v3_small", "TFLITE": "float32"})}
    results = run_together([script_command(dataset_dir, output_dir, **knobs)
                            for dataset_dir, output_dir, knobs in planned.values()])
    outputs = {}
    for (name, (_, output_dir, _)), result in zip(planned.items(), results):
        assert result.returncode == 0, f"{name}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        outputs[name] = (output_dir, result.stdout + result.stderr)
    return outputs


@pytest.fixture(scope="module")
def kaggle_recipe_run(runs):
    return runs["recipe"]


def test_kaggle_recipe_from_random_initialisation_trains_with_its_options(kaggle_recipe_run, kaggle_dir):
    output_dir, printed = kaggle_recipe_run
    assert ("Train Inception V3 from random initialisation: 3 steps of 4 images at 112px, "
            "learning rate 0.001 falling linearly to 0.00001") in printed
    settings = run_settings.read(os.path.join(output_dir, "train"))
    assert settings["model_name"] == "inception_v3" and settings["train_image_size"] == 112
    assert settings[run_settings.REGRESSION_LOSS] == "smooth_l1"
    # From random initialisation the recipe keeps the book's crop (Graham's images did not help there).
    assert settings[run_settings.CONVERSION][run_settings.CONVERSION_GRAHAM] is False


def test_kaggle_recipe_fits_grading_and_grades_every_test_image(kaggle_recipe_run, kaggle_dir):
    output_dir, printed = kaggle_recipe_run
    settings = run_settings.read(os.path.join(output_dir, "train"))
    assert fitting.GRADING in settings, sorted(settings)
    assert "eval/QuadraticWeightedKappa_Thresholds" in printed
    with open(os.path.join(output_dir, "submission.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    test_images = {name.rsplit(".", 1)[0] for name in os.listdir(os.path.join(kaggle_dir, "test"))}
    assert {row["image"] for row in rows} == test_images and len(rows) == 2 * max(1, NUM_PATIENTS // 4)
    assert all(row["level"] in "01234" and len(row["level"]) == 1 for row in rows)


def test_summary_compares_the_untrained_and_trained_model_with_mean_recall(kaggle_recipe_run):
    _, printed = kaggle_recipe_run
    lines = printed.splitlines()
    header = next(line for line in lines if "QuadraticWeightedKappa" in line and "Mean_Recall" in line)
    assert header.split()[:2] == ["QuadraticWeightedKappa", "Mean_Recall"]
    for name in ("majority-class baseline", "untrained model", "trained model", "+ grading fitted on validation"):
        assert any(line.startswith(name) for line in lines), name


def test_balanced_sampling_is_recorded_for_the_class_prior_correction(kaggle_recipe_run):
    output_dir, _ = kaggle_recipe_run
    record = run_settings.read(os.path.join(output_dir, "train"))[class_prior.CLASS_PRIOR]
    sampled = [share for share in record["sampled"] if share]
    assert sum(record["frequencies"]) == pytest.approx(1.0)
    assert sampled == pytest.approx([1 / len(sampled)] * len(sampled))


def test_summary_warns_loudly_exactly_when_the_trained_model_is_less_accurate_than_the_baseline(kaggle_recipe_run):
    _, printed = kaggle_recipe_run
    lines = printed.splitlines()
    header = next(line for line in lines if "QuadraticWeightedKappa" in line and "Mean_Recall" in line)
    column = header.split().index("Accuracy")
    accuracy = {name: float(line[len(name):].split()[column]) for line in lines
                for name in ("majority-class baseline", "trained model") if line.startswith(name)}
    warned = [line for line in lines if line.startswith("WARNING: trained model: accuracy")]
    assert len(warned) == (accuracy["trained model"] < accuracy["majority-class baseline"])


def test_without_a_checkpoint_or_network_the_error_says_how_to_train_from_scratch(kaggle_dir, tmp_path):
    result = run_script(kaggle_dir, tmp_path, CHECKPOINT_PATH="", TRAIN_STEPS="1",
                        https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot download the ImageNet checkpoint" in result.stderr
    assert "CHECKPOINT_PATH=none" in result.stderr
    assert not os.path.exists(os.path.join(tmp_path, "train"))



def test_demo_draws_its_sample_with_the_grade_distribution_and_seed_asked_for(tmp_path):
    env = dict(os.environ, OUTPUT_DIR=str(tmp_path), NUM_PATIENTS="2", GRADE_DISTRIBUTION="1,2,3", SAMPLE_SEED="7")
    result = subprocess.run(["bash", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "--grade_distribution=1,2,3: expected sample or kaggle or five comma-separated" in result.stderr
    assert "kaggle_sample_2_1-2-3_seed7" in result.stdout
    assert not os.path.exists(os.path.join(tmp_path, "kaggle_sample_2_1-2-3_seed7", "trainLabels.csv"))


@pytest.fixture(scope="module")
def mobilenet_run(runs):
    return runs["mobilenet"]


def test_model_mobilenet_v3_small_trains_a_mobilenet_and_prints_the_summary(mobilenet_run):
    output_dir, printed = mobilenet_run
    assert "Train MobileNet V3 small from random initialisation: 3 steps of 4 images at 112px" in printed
    checkpoint = tf.train.latest_checkpoint(os.path.join(output_dir, "train"))
    names = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
    assert names["MobilenetV3/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 1024, 5]
    assert not [name for name in names if name.startswith("InceptionV3")]
    assert run_settings.read(os.path.join(output_dir, "train"))["model_name"] == "mobilenet_v3_small"
    assert "Training in float32" in printed  # a MobileNet trains slower in bfloat16
    lines = printed.splitlines()
    assert any("QuadraticWeightedKappa" in line and "Mean_Recall" in line for line in lines)
    assert any(line.startswith("trained model") for line in lines)


def test_tflite_asked_for_exports_the_trained_model_and_names_the_file_with_its_size(mobilenet_run):
    output_dir, printed = mobilenet_run
    path = os.path.join(output_dir, "grader_float32.tflite")
    with open(path + ".json") as handle:
        sidecar = json.load(handle)
    assert sidecar["model_name"] == "mobilenet_v3_small" and sidecar["precision"] == "float32"
    assert f"  {path}  ({os.path.getsize(path) / 1e6:.2f} MB)" in printed.splitlines()


@pytest.mark.parametrize("knob, message", [
    ({"MODEL": "resnet_v1_50"}, "MODEL must be inception_v3, mobilenet_v2, mobilenet_v3_small or mobilenet_v3_large, "
                                "not resnet_v1_50"),
    ({"TFLITE": "int4"}, "TFLITE must be float32, float16 or int8, not int4"),
    ({"PRECISION": "float8"}, "PRECISION must be float32 or bfloat16, not float8")])
def test_an_unknown_model_tflite_or_precision_is_refused_in_one_line_before_any_work(kaggle_dir, tmp_path, knob,
                                                                                     message):
    result = run_script(kaggle_dir, tmp_path, **knob)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"{SCRIPT}: {message}"]
    assert os.listdir(tmp_path) == []
