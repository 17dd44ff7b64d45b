"""Upstream's example scripts (scripts/finetune_*_on_flowers.sh, train_*_on_*.sh) run as written, offline."""
import io
import os
import subprocess
import tarfile

import pytest

from slim_compat import tf
from tests import upstream_archives
from tests.model_helpers import REPO_ROOT

pytestmark = pytest.mark.slow  # runs upstream's shell scripts end to end

SCRIPTS = ["finetune_inception_v1_on_flowers.sh", "finetune_inception_v3_on_flowers.sh",
           "finetune_resnet_v1_50_on_flowers.sh", "train_cifarnet_on_cifar10.sh", "train_lenet_on_mnist.sh"]


def run_bash(command, **environment):
    return subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **environment})


def test_every_example_script_is_valid_bash_and_names_its_knobs():
    for script in SCRIPTS:
        path = os.path.join(REPO_ROOT, "scripts", script)
        assert subprocess.run(["bash", "-n", path]).returncode == 0, script
        with open(path) as handle:
            text = handle.read()
        assert "download_and_convert_data.py" in text and "eval_image_classifier.py" in text, script


def test_checkpoint_comes_from_the_tarball_put_into_the_folder_and_offline_without_it_is_one_clear_error(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    with tarfile.open(folder / "inception_v1_2016_08_28.tar.gz", "w:gz") as archive:
        info = tarfile.TarInfo("inception_v1.ckpt")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"ckpt"))
    # Nothing listens on port 9 here: a download attempt fails at once.
    fetch = "source scripts/slim_examples_common.sh; fetch_checkpoint inception_v1 {url} {folder}"
    url = "http://localhost:9/inception_v1_2016_08_28.tar.gz"
    result = run_bash(fetch.format(url=url, folder=folder))
    assert result.returncode == 0, result.stderr
    assert (folder / "inception_v1.ckpt").read_bytes() == b"ckpt"
    empty = tmp_path / "empty"
    result = run_bash(fetch.format(url=url, folder=empty))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"datasets.downloads: {empty / 'inception_v1_2016_08_28.tar.gz'} is missing and {url} could not be "
        "downloaded")


def test_train_cifarnet_on_cifar10_runs_as_written_from_a_local_archive_with_tiny_step_counts(tmp_path):
    dataset_dir, train_dir = tmp_path / "cifar10", tmp_path / "cifarnet-model"
    dataset_dir.mkdir()
    upstream_archives.write_cifar10_archive(str(dataset_dir))
    result = run_bash("scripts/train_cifarnet_on_cifar10.sh", DATASET_DIR=str(dataset_dir), TRAIN_DIR=str(train_dir),
                      TRAIN_STEPS="2", BATCH_SIZE="4")
    assert result.returncode == 0, result.stderr[-3000:]
    assert tf.train.latest_checkpoint(str(train_dir)).endswith("model.ckpt-2")
    assert "eval/Accuracy[" in result.stdout + result.stderr and "eval/Recall_5[" in result.stdout + result.stderr
    assert sorted(name for name in os.listdir(dataset_dir) if name.endswith(".tfrecord")) == [
        "cifar10_test.tfrecord", "cifar10_train.tfrecord"]
