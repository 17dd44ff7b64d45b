"""One short real run, shared by the tests of what training records and of what reads it.

Camera-like photographs (datasets.kaggle_sample) are converted at 128 px by
download_and_convert_data.py, and train_image_classifier.py trains 2 steps on them.
"""
import os

import pytest

from datasets import kaggle_sample

# Model-defining flags the readers must pick up without being told: a non-default preprocessing,
# image size and batch-norm decay.
TRAIN_SETTINGS = {"model_name": "inception_v3", "preprocessing_name": "fundus", "train_image_size": 128,
                  "batch_norm_decay": 0.9}
TRAIN_STEPS = 2
CONVERSION = {"image_size": 128, "crop_threshold": 12, "graham": False}
# Wide enough for the conversion's reduced (1/2 scale) JPEG decode: short side >= the decode's target at 128 px.
PHOTO_WIDTHS = (700, 1000)


def train_flags(train_dir, dataset_dir, *extra):
    """The flags of a short Inception V3 run at 128 px on diabetic TFRecords."""
    return [f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
            f"--dataset_dir={dataset_dir}", "--batch_size=2", f"--max_number_of_steps={TRAIN_STEPS}",
            "--optimizer=adam", "--opt_epsilon=1e-8", "--learning_rate=0.001", "--save_summaries_secs=600",
            *(f"--{name}={value}" for name, value in TRAIN_SETTINGS.items()), *extra]


def convert_and_train(root):
    """Writes camera-like photographs under `root`, converts them as CONVERSION says and trains TRAIN_STEPS on them.

    Returns:
      (train_dir, TFRecords folder, camera photographs folder).
    """
    from datasets import fundus_conversion  # these two import TensorFlow: only when a test needs the run
    from tests.model_helpers import run_script

    dataset_dir = os.path.join(root, "kaggle")
    kaggle_sample.write_kaggle_sample(dataset_dir, num_patients=12, image_width_range=PHOTO_WIDTHS, with_test=True)
    run = run_script("download_and_convert_data.py", "--dataset_name=diabetic", f"--dataset_dir={dataset_dir}",
                     "--validation_size=6", *(f"--{name}={value}" for name, value in CONVERSION.items()))
    assert run.returncode == 0, run.stderr[-3000:]
    train_dir = os.path.join(root, "train")
    tfrecords = os.path.join(dataset_dir, fundus_conversion.output_folder(fundus_conversion.TFRECORDS_DIR, CONVERSION))
    run = run_script("train_image_classifier.py", *train_flags(train_dir, tfrecords))
    assert run.returncode == 0, run.stderr[-3000:]
    return train_dir, tfrecords, os.path.join(dataset_dir, "test")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """(train_dir, TFRecords folder, camera photographs folder) of a finished run."""
    return convert_and_train(str(tmp_path_factory.mktemp("trained_run")))
