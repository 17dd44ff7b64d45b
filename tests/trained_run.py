"""One short real training run with recorded settings, shared by the tests of what reads them."""
import os

import pytest

from tests.model_helpers import run_script

# Model-defining flags the readers must pick up without being told: a non-default preprocessing,
# image size and batch-norm decay.
TRAIN_SETTINGS = {"model_name": "inception_v3", "preprocessing_name": "fundus", "train_image_size": 128,
                  "batch_norm_decay": 0.9}


def train_flags(train_dir, dataset_dir, *extra):
    """The flags of a 2-step Inception V3 run at 128 px on diabetic TFRecords."""
    return [f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
            f"--dataset_dir={dataset_dir}", "--batch_size=2", "--max_number_of_steps=2",
            "--optimizer=adam", "--opt_epsilon=1e-8", "--learning_rate=0.001", "--save_summaries_secs=600",
            *(f"--{name}={value}" for name, value in TRAIN_SETTINGS.items()), *extra]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_diabetic_dir):
    """(train_dir, dataset_dir) of a finished 2-step run of train_image_classifier.py."""
    train_dir = os.path.join(str(tmp_path_factory.mktemp("trained_run")), "train")
    run = run_script("train_image_classifier.py", *train_flags(train_dir, tiny_diabetic_dir))
    assert run.returncode == 0, run.stderr[-3000:]
    return train_dir, tiny_diabetic_dir
