"""train_image_classifier.py end to end: the book's fine-tuning command on real TFRecords and a real Inception V3."""
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from deployment import cluster
from slim_compat import tf
from tests.checkpoints import imagenet_inception_v3_checkpoint  # noqa: F401  (pytest fixture)
from tests.fine_tuning import train_in_process

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINABLE_SCOPES = "InceptionV3/Logits,InceptionV3/AuxLogits"


def book_command(train_dir, dataset_dir, checkpoint_path, *extra):
    """The book's fine-tuning flags, with small batches and images so a step takes about a second."""
    return [f"--train_dir={train_dir}", "--dataset_name=diabetic", "--dataset_split_name=train",
            f"--dataset_dir={dataset_dir}", "--model_name=inception_v3", f"--checkpoint_path={checkpoint_path}",
            f"--checkpoint_exclude_scopes={TRAINABLE_SCOPES}", f"--trainable_scopes={TRAINABLE_SCOPES}",
            "--learning_rate=0.000001", "--learning_rate_decay_type=exponential",
            "--batch_size=2", "--train_image_size=128", "--log_every_n_steps=1", *extra]


def event_tags(train_dir):
    tags = set()
    for path in glob.glob(os.path.join(train_dir, "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.fixture(scope="module")
def book_run(tmp_path_factory, tiny_diabetic_dir, imagenet_inception_v3_checkpoint):
    """The book's command run as a subprocess for 2 steps; returns (train_dir, its log)."""
    train_dir = str(tmp_path_factory.mktemp("train"))
    command = [sys.executable, "train_image_classifier.py",
               *book_command(train_dir, tiny_diabetic_dir, imagenet_inception_v3_checkpoint,
                             "--max_number_of_steps=2")]
    run = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return train_dir, run.stderr


@pytest.mark.slow
def test_book_command_writes_step_2_checkpoint_and_logs_throughput(book_run):
    train_dir, log = book_run
    assert tf.train.latest_checkpoint(train_dir).endswith("model.ckpt-2")
    # Relative paths: the directory can be moved or copied.
    assert 'model_checkpoint_path: "model.ckpt-2"' in open(os.path.join(train_dir, "checkpoint")).read()
    assert "Fine-tuning from" in log
    assert "global step 2: loss = " in log and "sec/step" in log and "images/s" in log


@pytest.mark.slow
def test_book_command_changes_only_the_trainable_scopes(book_run, imagenet_inception_v3_checkpoint):
    train_dir, _ = book_run
    imagenet = tf.train.load_checkpoint(imagenet_inception_v3_checkpoint)
    trained = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-2"))
    trained_shapes = trained.get_variable_to_shape_map()
    frozen = [name for name in imagenet.get_variable_to_shape_map()
              if not name.startswith(tuple(TRAINABLE_SCOPES.split(",")))
              and not name.endswith(("moving_mean", "moving_variance"))]
    assert len(frozen) == 188  # weights and betas of the 94 convolutions before the logits
    for name in frozen:
        np.testing.assert_array_equal(trained.get_tensor(name), imagenet.get_tensor(name), err_msg=name)
    # The 1001-class ImageNet logits were replaced by 5-class ones, which trained.
    assert trained_shapes["InceptionV3/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 2048, 5]
    first = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-0"))
    for name in ("InceptionV3/Logits/Conv2d_1c_1x1/weights", "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights"):
        assert not np.array_equal(first.get_tensor(name), trained.get_tensor(name)), name


@pytest.mark.slow
def test_book_command_moves_batch_norm_statistics_like_upstream(book_run, imagenet_inception_v3_checkpoint):
    train_dir, _ = book_run
    name = "InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean"
    imagenet = tf.train.load_checkpoint(imagenet_inception_v3_checkpoint).get_tensor(name)
    trained = tf.train.load_checkpoint(os.path.join(train_dir, "model.ckpt-2")).get_tensor(name)
    assert not np.array_equal(imagenet, trained)


@pytest.mark.slow
def test_book_command_events_hold_losses_learning_rate_and_images(book_run):
    tags = event_tags(book_run[0])
    assert {"total_loss", "learning_rate", "clone_loss", "regularization_loss",
            "losses/softmax_cross_entropy_loss/value", "losses/aux_loss/value", "accuracy/training_batch"} <= tags
    assert any(tag.startswith("images/image") for tag in tags)
    assert any(tag.startswith("activations/") for tag in tags)


@pytest.mark.slow
def test_rerun_resumes_from_the_latest_checkpoint_and_ignores_checkpoint_path(
        book_run, tiny_diabetic_dir, imagenet_inception_v3_checkpoint, tmp_path, caplog):
    train_dir, _ = book_run
    # A copy, so the other tests still see the 2-step run.
    resumed_dir = str(tmp_path / "resumed")
    shutil.copytree(train_dir, resumed_dir)
    with caplog.at_level("INFO"):
        train_in_process(book_command(resumed_dir, tiny_diabetic_dir, imagenet_inception_v3_checkpoint,
                                      "--max_number_of_steps=3"))
    assert "Ignoring --checkpoint_path because a checkpoint already exists" in caplog.text
    assert "global step 3: loss" in caplog.text and "global step 1:" not in caplog.text
    assert tf.train.latest_checkpoint(resumed_dir).endswith("model.ckpt-3")


def small_run(train_dir, dataset_dir, *extra):
    """Flags for a short from-scratch Inception V3 run on 128x128 images.

    Only the logits train (a small backward graph), and there are no periodic
    checkpoints or summaries (the final checkpoint is still written) unless
    `extra` asks for them.
    """
    return [f"--train_dir={train_dir}", "--dataset_name=diabetic", f"--dataset_dir={dataset_dir}",
            "--batch_size=2", "--train_image_size=128", "--log_every_n_steps=1", "--save_interval_secs=0",
            "--save_summaries_secs=0", "--trainable_scopes=InceptionV3/Logits", *extra]


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_clones_share_one_set_of_variables(tiny_diabetic_dir, tmp_path, caplog):
    with caplog.at_level("INFO"):
        train_in_process(small_run(tmp_path, tiny_diabetic_dir, "--num_clones=2", "--clone_on_cpu",
                                   "--max_number_of_steps=1", "--optimizer=sgd",
                                   "--save_summaries_secs=600"))
    assert "batch 2 x 2 clone(s)" in caplog.text and "4.0 images/s" not in caplog.text
    checkpoint = tf.train.latest_checkpoint(str(tmp_path))
    assert checkpoint.endswith("model.ckpt-1")
    names = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
    assert "InceptionV3/Logits/Conv2d_1c_1x1/weights" in names
    assert not any(name.startswith("clone_") for name in names)
    assert {"clone_0/clone_loss", "clone_1/clone_loss"} <= event_tags(str(tmp_path))


@pytest.mark.slow
def test_checkpoints_and_summaries_hold_the_steps_they_are_written_at(tiny_diabetic_dir, tmp_path, caplog):
    # The Supervisor's timers used to save model.ckpt-0 while the first step ran (global step 1 inside,
    # batch-norm statistics moved) and to summarise a batch of their own that no step trained on.
    with caplog.at_level("INFO"):
        train_in_process(small_run(tmp_path, tiny_diabetic_dir, "--max_number_of_steps=2", "--optimizer=adam",
                                   "--save_interval_secs=600", "--save_summaries_secs=600", "--batch_norm_decay=0.9"))
    initial, trained = (tf.train.load_checkpoint(str(tmp_path / name)) for name in ("model.ckpt-0", "model.ckpt-2"))
    assert initial.get_tensor("global_step") == 0 and trained.get_tensor("global_step") == 2
    moving_means = [name for name in initial.get_variable_to_shape_map() if name.endswith("BatchNorm/moving_mean")]
    assert len(moving_means) == 96  # the 94 convolutions before the logits and the 2 of AuxLogits
    for name in moving_means:
        assert not np.any(initial.get_tensor(name)), name  # initialised to 0
    assert all(np.any(trained.get_tensor(name)) for name in moving_means)
    logits = "InceptionV3/Logits/Conv2d_1c_1x1/biases"
    assert not np.any(initial.get_tensor(logits)) and np.any(trained.get_tensor(logits))
    # Summarised on the first step and the last, in the step's own run: the loss TensorBoard shows is the
    # loss the log gives for that step.
    logged = {int(step): float(loss) for step, loss in re.findall(r"global step (\d+): loss = ([\d.]+)", caplog.text)}
    summarised = {}
    for path in glob.glob(str(tmp_path / "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            summarised.update({event.step: value.simple_value for value in event.summary.value
                               if value.tag == "total_loss"})
    assert sorted(summarised) == [1, 2] and sorted(logged) == [1, 2]
    for step in (1, 2):
        assert summarised[step] == pytest.approx(logged[step], abs=5e-5), step


@pytest.mark.slow
@pytest.mark.parametrize("replication", [[], ["--sync_replicas", "--replicas_to_aggregate=1"]],
                         ids=["async", "sync_replicas"])
def test_worker_trains_with_variables_on_a_local_parameter_server(tiny_diabetic_dir, tmp_path, replication):
    ps_hosts, worker_hosts = f"localhost:{free_port()}", f"localhost:{free_port()}"
    cluster.start_server(ps_hosts, worker_hosts, "ps", 0)
    worker = cluster.start_server(ps_hosts, worker_hosts, "worker", 0)
    train_in_process(small_run(tmp_path, tiny_diabetic_dir, f"--master={worker.target}", "--num_ps_tasks=1",
                               "--max_number_of_steps=1", "--optimizer=sgd", *replication))
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-1")


def start_training(train_dir, dataset_dir, log_path, *extra):
    """Starts the script as a subprocess logging to `log_path` (a file: a full pipe would block it)."""
    with open(log_path, "w") as log:
        command = [sys.executable, "train_image_classifier.py", *small_run(train_dir, dataset_dir, *extra)]
        return subprocess.Popen(command, cwd=REPO_ROOT, stderr=log, text=True)


def wait_for_log(process, log_path, text, timeout):
    deadline = time.time() + timeout
    while text not in log_path.read_text():
        assert process.poll() is None and time.time() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.2)


@pytest.mark.slow
def test_sync_replicas_advance_the_global_step_once_per_two_worker_gradients(tiny_diabetic_dir, tmp_path):
    ps_hosts = f"localhost:{free_port()}"
    worker_hosts = f"localhost:{free_port()},localhost:{free_port()}"
    cluster.start_server(ps_hosts, worker_hosts, "ps", 0)
    servers = [cluster.start_server(ps_hosts, worker_hosts, "worker", task) for task in (0, 1)]
    logs = [tmp_path / f"worker{task}.log" for task in (0, 1)]
    sync = ["--num_ps_tasks=1", "--worker_replicas=2", "--sync_replicas", "--replicas_to_aggregate=2",
            "--max_number_of_steps=2", "--optimizer=sgd"]

    def train_task(task):
        return start_training(tmp_path / "train", tiny_diabetic_dir, logs[task], f"--master={servers[task].target}",
                              f"--task={task}", *sync)

    workers = [train_task(0)]
    try:
        # Started before the chief has initialised the variables, the other worker would sleep 30 s.
        wait_for_log(workers[0], logs[0], "Starting Session.", timeout=120)
        workers.append(train_task(1))
        for worker, log in zip(workers, logs):
            assert worker.wait(timeout=120) == 0, log.read_text()[-3000:]
    finally:
        for worker in workers:
            worker.kill()
    steps = [[int(step) for step in re.findall(r"global step (\d+): loss", log.read_text())] for log in logs]
    # Every step (by either worker) sends one gradient and waits for a token: 2 tokens
    # at the start, 2 more per update. Two updates take 4 gradients, hence 4 to 6 steps.
    assert 4 <= len(steps[0]) + len(steps[1]) <= 6, steps
    assert all(worker_steps == sorted(worker_steps) and set(worker_steps) <= {0, 1, 2} for worker_steps in steps)
    assert tf.train.latest_checkpoint(str(tmp_path / "train")).endswith("model.ckpt-2")


@pytest.mark.slow
def test_nan_loss_stops_the_run_and_names_the_step(tiny_diabetic_dir, tmp_path):
    with pytest.raises(SystemExit, match=r"loss is (nan|inf) at step \d+; training stopped"):
        train_in_process(small_run(tmp_path, tiny_diabetic_dir, "--optimizer=sgd", "--learning_rate=1e30",
                                   "--learning_rate_decay_type=fixed", "--max_number_of_steps=20"))


@pytest.mark.slow
def test_restore_shape_mismatch_names_the_variable_and_the_flag(
        tiny_diabetic_dir, imagenet_inception_v3_checkpoint, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        # At 128x128 the AuxLogits kernels are smaller and named differently, so exclude them.
        train_in_process(small_run(tmp_path, tiny_diabetic_dir, "--checkpoint_exclude_scopes=InceptionV3/AuxLogits",
                                   f"--checkpoint_path={imagenet_inception_v3_checkpoint}"))
    message = str(stopped.value)
    assert "\n" not in message
    assert "InceptionV3/Logits/Conv2d_1c_1x1/" in message and "1001" in message
    assert "--checkpoint_exclude_scopes" in message


@pytest.mark.parametrize("flag, error", [
    ("--quantize_delay=0", "--quantize_delay is not supported"),
    ("--use_grayscale", "--use_grayscale is not supported: the colour of lesions matters for grading"),
    ("--model_name=inception_v9", "Name of network unknown inception_v9"),
    ("--optimizer=lamb", "Optimizer [lamb] was not recognized"),
    ("--checkpoint_path=/nonexistent/inception_v3.ckpt",
     "/nonexistent/inception_v3.ckpt: not a checkpoint (no inception_v3.ckpt.index"),
])
def test_bad_flags_stop_with_a_one_line_error(tiny_diabetic_dir, tmp_path, flag, error):
    with pytest.raises(SystemExit) as stopped:
        train_in_process(small_run(tmp_path, tiny_diabetic_dir, flag))
    assert error in str(stopped.value) and "\n" not in str(stopped.value)


def test_dataset_dir_without_tfrecords_is_a_one_line_error(tmp_path):
    with pytest.raises(SystemExit, match="no TFRecords match diabetic_train_"):
        train_in_process(small_run(tmp_path, str(tmp_path)))
