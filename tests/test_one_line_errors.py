"""Bad flags, train dirs and TFRecords stop with one line naming the flag or file; good ones are left intact."""
import glob
import logging
import os
import shutil

import pytest

from datasets import dataset_factory, dataset_utils, tfrecord_check
from evaluation import evaluate
from inference import model_runner
from nets import nets_factory
from slim_compat import tf
from tests.conftest import write_tiny_diabetic_tfrecords
from tests.model_helpers import TEST_CONFIG, shared_train_dir
from tests.test_train_image_classifier import small_run, train_in_process
from training import trainer
from utils import checkpoint_files


@pytest.fixture
def records(tmp_path):
    """A fresh copy of the tiny diabetic TFRecords (2 shards per split): (folder, train shard paths)."""
    folder = str(tmp_path / "records")
    os.makedirs(folder)
    write_tiny_diabetic_tfrecords(folder)
    return folder, sorted(glob.glob(os.path.join(folder, "diabetic_train_*.tfrecord")))


def save_small_checkpoints(directory, steps):
    """Saves `directory/model.ckpt-STEP` of a one-variable model, as TensorFlow's Saver does by default."""
    with tf.Graph().as_default():
        tf.Variable([1.0, 2.0], name="weights")
        global_step = tf.train.get_or_create_global_step()
        saver = tf.train.Saver()
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for step in steps:
                session.run(global_step.assign(step))
                saver.save(session, os.path.join(directory, "model.ckpt"), global_step=step)


def stopped_training(*argv):
    """Runs training in this process with `argv`; returns the one-line message it stopped with."""
    with pytest.raises(SystemExit) as stopped:
        train_in_process(list(argv))
    message = str(stopped.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("flag, message", [
    ("--batch_size=0", "--batch_size=0: must be greater than 0"),
    ("--learning_rate=-1", "--learning_rate=-1.0: must be greater than 0"),
    ("--label_smoothing=1.5", "--label_smoothing=1.5: must be at least 0 and below 1"),
    ("--train_image_size=96", "--train_image_size=96: inception_v3 needs images of at least 107x107 pixels"),
    ("--model_name=inception_v1", "--train_image_size=128: inception_v1 needs images of at least 193x193 pixels"),
])
def test_flag_values_are_checked_before_any_graph(tiny_diabetic_dir, tmp_path, flag, message):
    train_dir = tmp_path / "train"
    assert stopped_training(*small_run(train_dir, tiny_diabetic_dir, flag)) == f"train_image_classifier.py: {message}"
    assert not train_dir.exists()


def test_a_train_dir_that_is_a_file_is_named(tiny_diabetic_dir, tmp_path):
    (tmp_path / "train").write_text("notes")
    assert stopped_training(*small_run(tmp_path / "train", tiny_diabetic_dir)) == (
        f"train_image_classifier.py: --train_dir={tmp_path / 'train'}: is a file, not a directory; give a directory")
    assert (tmp_path / "train").read_text() == "notes"


def test_a_network_too_small_for_its_input_says_so_when_built():
    with tf.Graph().as_default():
        network_fn = nets_factory.get_network_fn("vgg_16", num_classes=5)
        with pytest.raises(ValueError, match=r"^vgg_16 cannot take 32x32 images: they are too small for its layers "
                                             r"\(.*\); use larger images$"):
            network_fn(tf.zeros([1, 32, 32, 3]))


def test_a_moved_train_dir_keeps_its_checkpoints(tmp_path):
    original = tmp_path / "train"
    save_small_checkpoints(str(original), steps=[1, 2])
    assert str(original) in (original / "checkpoint").read_text()
    moved = tmp_path / "train2"
    os.rename(original, moved)
    assert checkpoint_files.resolve(str(moved)) == str(moved / "model.ckpt-2")
    assert trainer.prepare_train_dir(str(moved)) == str(moved / "model.ckpt-2")
    assert 'model_checkpoint_path: "model.ckpt-2"' in (moved / "checkpoint").read_text()
    assert str(tmp_path) not in (moved / "checkpoint").read_text()
    assert tf.train.latest_checkpoint(str(moved)) == str(moved / "model.ckpt-2")


def test_a_copied_train_dir_uses_its_own_checkpoints_never_the_original(tmp_path, caplog):
    original = tmp_path / "train"
    save_small_checkpoints(str(original), steps=[1, 2])
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    assert trainer.prepare_train_dir(str(copy)) == str(copy / "model.ckpt-2")
    assert tf.train.latest_checkpoint(str(copy)) == str(copy / "model.ckpt-2")
    # A state naming only another directory's checkpoints is dropped: training starts afresh.
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    shutil.copy(original / "checkpoint", stranger / "checkpoint")
    with caplog.at_level(logging.WARNING, logger="absl"):
        assert trainer.prepare_train_dir(str(stranger)) is None
    assert ("stranger/checkpoint: its latest checkpoint model.ckpt-2 has no files in this directory (deleted, or "
            "never copied here); no checkpoint remains") in caplog.text
    assert os.listdir(stranger) == []
    assert sorted(os.listdir(original)) == sorted(os.listdir(copy))


def test_an_interrupted_save_leaves_nothing_behind_on_the_next_run(tmp_path):
    save_small_checkpoints(str(tmp_path), steps=[1])
    kept = sorted(os.listdir(tmp_path))
    (tmp_path / "model.ckpt-2.data-00000-of-00001.tempstate8731253").write_bytes(b"x" * 1000)
    (tmp_path / "model.ckpt-2_temp").mkdir()
    (tmp_path / "model.ckpt-2_temp" / "part-00000-of-00001.index").write_bytes(b"x")
    assert trainer.prepare_train_dir(str(tmp_path)) == str(tmp_path / "model.ckpt-1")
    assert sorted(os.listdir(tmp_path)) == kept


@pytest.mark.slow
def test_a_checkpoint_of_another_optimizer_in_the_train_dir_is_named(tiny_diabetic_dir, tmp_path_factory, tmp_path):
    # Saved without any optimizer slot; the default RMSProp needs its slots to resume.
    train_dir = tmp_path / "train"
    shutil.copytree(shared_train_dir(tmp_path_factory), train_dir)
    message = stopped_training(*small_run(train_dir, tiny_diabetic_dir, "--max_number_of_steps=4"))
    assert message == (
        f"train_image_classifier.py: {train_dir / 'model.ckpt-2'}: this training directory holds a checkpoint of "
        "another model or optimizer (it lacks InceptionV3/Logits/Conv2d_1c_1x1/biases/RMSProp (and 3 more)); "
        "train with the --model_name, --optimizer and sizes it was trained with, or use a new --train_dir")
    assert checkpoint_files.latest_in(str(train_dir)) == str(train_dir / "model.ckpt-2")


@pytest.mark.slow
def test_eval_at_another_image_size_than_trained_names_the_size(tiny_diabetic_dir, tmp_path_factory):
    checkpoint = os.path.join(shared_train_dir(tmp_path_factory), "model.ckpt-2")
    eval_input = evaluate.dataset_input(dataset_factory.get_dataset("diabetic", "validation", tiny_diabetic_dir), 5,
                                        batch_size=4)
    config = model_runner.ModelConfig("inception_v3", num_classes=5, image_size=299)
    with pytest.raises(ValueError) as refused:
        model_runner.collect_predictions(checkpoint, config, eval_input.make_batches, eval_input.num_samples)
    assert str(refused.value) == (
        f"{checkpoint}: does not fit inception_v3 at 299x299 pixels (it lacks "
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/BatchNorm/beta (and 3 more)); give the --model_name and image size "
        "(--eval_image_size = its --train_image_size) it was trained with")


def test_truncated_and_garbage_shards_are_named_before_training(records, tmp_path):
    folder, shards = records
    data = open(shards[1], "rb").read()
    open(shards[1], "wb").write(data[:len(data) - 100])
    assert stopped_training(*small_run(tmp_path / "train", folder)) == (
        f"train_image_classifier.py: {shards[1]}: truncated or not a TFRecord file (record 8 at byte "
        f"{_last_record_offset(data)} runs past the end, {len(data) - 100} bytes); convert the dataset again")
    open(shards[1], "wb").write(b"this is not a TFRecord file at all, but text of some length " * 10)
    with pytest.raises(ValueError, match=f"^{shards[1]}: truncated or not a TFRecord file"):
        dataset_factory.get_dataset("diabetic", "train", folder)


def _last_record_offset(data):
    offset = previous = 0
    while offset < len(data):
        previous = offset
        offset += 16 + int.from_bytes(data[offset:offset + 8], "little")
    return previous


def test_shards_of_different_conversions_are_not_mixed(records):
    folder, shards = records
    for shard, image_size in zip(shards, (96, 128)):
        examples = [tf.train.Example.FromString(record) for record in tf.io.tf_record_iterator(shard)]
        with tf.io.TFRecordWriter(shard) as writer:
            for example in examples:
                example.features.feature[dataset_utils.CONVERSION_FEATURE].bytes_list.value.append(
                    f'{{"crop_threshold": 10, "image_size": {image_size}}}'.encode())
                writer.write(example.SerializeToString())
    with pytest.raises(ValueError) as refused:
        dataset_factory.get_dataset("diabetic", "train", folder)
    assert str(refused.value) == (
        f"{shards[1]}: converted with crop_threshold=10, image_size=128 but {os.path.basename(shards[0])} with "
        "crop_threshold=10, image_size=96; records of different sizes or preprocessing cannot be mixed: convert "
        "the dataset again into one folder")
    os.remove(shards[1])
    with pytest.raises(ValueError) as refused:
        dataset_factory.get_dataset("diabetic", "train", folder)
    assert str(refused.value) == (f"{folder}/split_sizes.txt: records 16 examples but the shards hold 8 ({folder}); "
                                  "convert the dataset again")


@pytest.mark.slow
def test_a_corrupt_record_met_while_evaluating_names_its_shard(records, tmp_path_factory):
    folder, _ = records
    shard = sorted(glob.glob(os.path.join(folder, "diabetic_validation_*.tfrecord")))[1]
    data = bytearray(open(shard, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(shard, "wb").write(bytes(data))
    dataset = dataset_factory.get_dataset("diabetic", "validation", folder)
    eval_input = evaluate.dataset_input(dataset, 5, batch_size=4)
    checkpoint = os.path.join(shared_train_dir(tmp_path_factory), "model.ckpt-2")
    with pytest.raises(ValueError, match=f"^{shard}: corrupt after record [0-9]+ \\(.*\\); convert the dataset "
                                         "again$"):
        model_runner.collect_predictions(checkpoint, TEST_CONFIG, eval_input.make_batches, eval_input.num_samples,
                                         shards=eval_input.shards)


def test_verify_reads_every_record_and_names_each_bad_shard(records, caplog):
    folder, shards = records
    assert tfrecord_check.verify_folder(folder) == 0
    data = bytearray(open(shards[0], "rb").read())
    data[-50] ^= 0xFF
    open(shards[0], "wb").write(bytes(data))
    with caplog.at_level(logging.INFO, logger="absl"):
        assert tfrecord_check.verify_folder(folder) == 1
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith(f"{shards[0]}: corrupt after record 7 (")
    assert "verified 6 shards" in caplog.text and "1 bad" in caplog.text
