"""scripts/finetune_inception_v3_on_diabetic.sh in both modes at their default image sizes from an
ImageNet-shaped checkpoint: the book's recipe at 299 px and RECIPE=kaggle at 512 px.

Each runs every stage a user leaves overnight (prepare, Logits/AuxLogits fine-tune, all-layers
fine-tune, eval, submission) for one step of one image on a few small photos, starting from a
1001-class checkpoint with the official variable names (random weights; there is no network here).
MODEL=mobilenet_v3_small does the same from upstream's MobileNet checkpoint layout. The three runs start
together (tests.model_helpers.run_together).
"""
import csv
import os
import shutil

import numpy as np
import pytest

from datasets import kaggle_sample
from slim_compat import tf
from tests.checkpoints import imagenet_inception_v3_checkpoint  # noqa: F401  (pytest fixture)
from tests.checkpoints import save_mobilenet_v3_small_checkpoint
from tests.model_helpers import run_together
from utils import run_settings

pytestmark = pytest.mark.slow  # runs the recipe script at its default image sizes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "scripts", "finetune_inception_v3_on_diabetic.sh")
NUM_PATIENTS = 6
# Photo widths: prepare refuses a disc under half the output size, and the sample's discs can be half the frame.
PHOTO_WIDTHS = (700, 800)
STEPS = 1
SHORT_RUN = {"VALIDATION_SIZE": "4", "BATCH_SIZE": "1", "LOGITS_STEPS": str(STEPS), "ALL_LAYERS_STEPS": str(STEPS),
             "FINETUNE_ALL_LAYERS": "1", "SEED": "3"}
# The script's knobs that would change the run if the caller's environment set them.
KNOBS = ("IMAGE_SIZE", "RECIPE", "OUTPUT_DIR", "CHECKPOINT_PATH", "NUM_PATIENTS", "TRAIN_STEPS", "MODEL", "TFLITE",
         "PRECISION")
DEFAULT_IMAGE_SIZES = {"book": 299, "kaggle": 512}


@pytest.fixture(scope="module")
def kaggle_dir(tmp_path_factory):
    dataset_dir = tmp_path_factory.mktemp("kaggle")
    kaggle_sample.write_kaggle_sample(str(dataset_dir), NUM_PATIENTS, PHOTO_WIDTHS, seed=3, with_test=True)
    return dataset_dir


def script_command(dataset_dir, output_dir, **knobs):
    """The script's arguments and environment for a short run on `dataset_dir` into `output_dir`, with `knobs`."""
    env = {name: value for name, value in os.environ.items() if name not in KNOBS}
    env.update(SHORT_RUN, OUTPUT_DIR=str(output_dir), **knobs)
    return ["bash", SCRIPT, str(dataset_dir)], env


@pytest.fixture(scope="module")
def runs(kaggle_dir, imagenet_inception_v3_checkpoint, tmp_path_factory):
    """{run: (output dir, printed output, checkpoint)}: Inception V3 in each recipe ("book", "kaggle") and
    RECIPE=kaggle with MobileNet V3 small ("mobilenet"), which converts its own copy of the photographs (the
    Inception run converts the same ones into the same folder at the same time)."""
    mobilenet_root = tmp_path_factory.mktemp("mobilenet")
    mobilenet_photos = mobilenet_root / "kaggle"
    shutil.copytree(kaggle_dir, mobilenet_photos)
    planned = {recipe: (kaggle_dir, tmp_path_factory.mktemp(recipe), imagenet_inception_v3_checkpoint,
                        {"RECIPE": recipe}) for recipe in sorted(DEFAULT_IMAGE_SIZES)}
    planned["mobilenet"] = (mobilenet_photos, mobilenet_root / "run",
                            save_mobilenet_v3_small_checkpoint(str(mobilenet_root)),
                            {"RECIPE": "kaggle", "MODEL": "mobilenet_v3_small"})
    results = run_together([script_command(dataset_dir, output_dir, CHECKPOINT_PATH=checkpoint, **knobs)
                            for dataset_dir, output_dir, checkpoint, knobs in planned.values()])
    outputs = {}
    for (name, (_, output_dir, checkpoint, _)), result in zip(planned.items(), results):
        printed = result.stdout + result.stderr
        assert result.returncode == 0, f"{name}: {printed[-5000:]}"
        outputs[name] = (output_dir, printed, checkpoint)
    return outputs


@pytest.fixture(scope="module", params=sorted(DEFAULT_IMAGE_SIZES))
def recipe_run(request, runs):
    """(recipe, output dir, printed output) of the script's run in that mode at its default image size."""
    output_dir, printed, _ = runs[request.param]
    return request.param, output_dir, printed


def test_fine_tunes_logits_then_all_layers_at_the_default_size(recipe_run):
    recipe, output_dir, printed = recipe_run
    assert "Finished in" in printed
    for train_dir in ("train", os.path.join("train", "all")):
        assert os.path.exists(os.path.join(output_dir, train_dir, f"model.ckpt-{STEPS}.index")), train_dir
        settings = run_settings.read(os.path.join(output_dir, train_dir))
        assert settings["train_image_size"] == DEFAULT_IMAGE_SIZES[recipe], train_dir


def test_the_logits_run_keeps_the_restored_imagenet_layers(recipe_run, imagenet_inception_v3_checkpoint):
    _, output_dir, _ = recipe_run
    imagenet = tf.train.load_checkpoint(imagenet_inception_v3_checkpoint)
    trained = tf.train.load_checkpoint(os.path.join(output_dir, "train", f"model.ckpt-{STEPS}"))
    for name in ("InceptionV3/Conv2d_1a_3x3/weights", "InceptionV3/AuxLogits/Conv2d_2a_5x5/weights"):
        assert trained.get_variable_to_shape_map()[name] == imagenet.get_variable_to_shape_map()[name]
    np.testing.assert_array_equal(trained.get_tensor("InceptionV3/Conv2d_1a_3x3/weights"),
                                  imagenet.get_tensor("InceptionV3/Conv2d_1a_3x3/weights"))


def test_evaluates_on_validation_and_grades_every_test_image(recipe_run, kaggle_dir):
    recipe, output_dir, printed = recipe_run
    assert "eval/QuadraticWeightedKappa[" in printed and "eval/Referable_Sensitivity[" in printed
    if recipe == "kaggle":
        assert "eval/QuadraticWeightedKappa_Thresholds[" in printed
    with open(os.path.join(output_dir, "submission.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    test_images = {name.rsplit(".", 1)[0] for name in os.listdir(os.path.join(kaggle_dir, "test"))}
    assert {row["image"] for row in rows} == test_images
    assert all(row["level"] in "01234" and len(row["level"]) == 1 for row in rows)


def test_kaggle_mode_fine_tunes_a_mobilenet_from_its_imagenet_checkpoint_but_its_logits(runs):
    output_dir, printed, checkpoint = runs["mobilenet"]
    assert f"Fine-tune MobilenetV3/Logits from {checkpoint}: {STEPS} steps" in printed
    imagenet = tf.train.load_checkpoint(checkpoint)
    trained = tf.train.load_checkpoint(os.path.join(output_dir, "train", f"model.ckpt-{STEPS}"))
    np.testing.assert_array_equal(trained.get_tensor("MobilenetV3/Conv/weights"),
                                  imagenet.get_tensor("MobilenetV3/Conv/weights"))
    assert trained.get_variable_to_shape_map()["MobilenetV3/Logits/Conv2d_1c_1x1/weights"][-1] == 5
    assert run_settings.read(os.path.join(output_dir, "train", "all"))["train_image_size"] == 512
