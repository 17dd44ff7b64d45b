"""Small real checkpoints and script runs shared by the eval, predict and export tests."""
import os
import subprocess
import sys

from datasets import dataset_factory
from evaluation import evaluate
from inference import model_runner
from nets import nets_factory
from slim_compat import slim, tf
from tests import background_runs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Inception V3 needs >= 75 px; at 128 px its auxiliary head still fits and a pass over 10 images is quick.
TEST_MODEL = "inception_v3"
TEST_IMAGE_SIZE = 128
TEST_CONFIG = model_runner.ModelConfig(TEST_MODEL, num_classes=5, image_size=TEST_IMAGE_SIZE)


def save_random_checkpoints(directory, steps, model_name=TEST_MODEL, image_size=TEST_IMAGE_SIZE, seed=0,
                            moving_average_decay=None, zero_shadow_of=None):
    """Saves `directory/model.ckpt-STEP` for each step from one randomly initialised 5-class network.

    With `moving_average_decay`, the checkpoints also hold moving-average shadows of the model
    variables, as training with that flag writes them: equal to the variables, except that the
    shadows of the variables for which `zero_shadow_of(variable)` holds are zero.

    Returns:
      The checkpoint prefixes, in the order of `steps`.
    """
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        network_fn = nets_factory.get_network_fn(model_name, num_classes=5)
        network_fn(tf.zeros([1, image_size, image_size, 3]))
        global_step = tf.train.get_or_create_global_step()
        names_to_variables = {variable.op.name: variable for variable in tf.global_variables()}
        copy_to_shadows = []
        if moving_average_decay:
            # Shadows named as ExponentialMovingAverage names them; its own update ops for every
            # variable would only slow the test down.
            averages = tf.train.ExponentialMovingAverage(moving_average_decay)
            for variable in slim.get_model_variables():
                shadow = tf.Variable(tf.zeros_like(variable), trainable=False)
                names_to_variables[averages.average_name(variable)] = shadow
                if not zero_shadow_of(variable):
                    copy_to_shadows.append(shadow.assign(variable))
        saver = tf.train.Saver(names_to_variables, max_to_keep=None)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(copy_to_shadows)
            paths = []
            for step in steps:
                session.run(global_step.assign(step))
                paths.append(saver.save(session, os.path.join(directory, "model.ckpt"), global_step=step))
    return paths


_train_dirs_by_session = {}


def shared_train_dir(tmp_path_factory):
    """Returns a folder with model.ckpt-1 and model.ckpt-2 of one random network, saved once per session."""
    session_root = tmp_path_factory.getbasetemp()
    if session_root not in _train_dirs_by_session:
        directory = str(tmp_path_factory.mktemp("train"))
        save_random_checkpoints(directory, steps=[1, 2])
        _train_dirs_by_session[session_root] = directory
    return _train_dirs_by_session[session_root]


def run_script(script, *flags, timeout=300, merged=False):
    """Runs `python SCRIPT flags...` from the repository root; returns the CompletedProcess.

    With `merged`, stderr goes to stdout, so `stdout` holds both in the order they were written.
    """
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if merged else {"capture_output": True}
    return subprocess.run([sys.executable, script, *flags], cwd=REPO_ROOT, text=True, timeout=timeout, **output)


def run_together(commands, timeout=900):
    """Starts `commands` ([(arguments, environment)]) at once from the repository root, as subprocess.run would
    run each; returns their CompletedProcess (stdout and stderr as text), in order, when all have ended.

    A script run keeps about one core busy (imports, graph building, small steps), so two cores run independent
    ones together in little more than the time of the longest.
    """
    runs = [background_runs.start(arguments, environment, timeout) for arguments, environment in commands]
    try:
        return [background_runs.finish(run) for run in runs]
    finally:
        for run in runs:
            background_runs.stop(run)


def read_encoded_images(dataset_dir, split):
    """Returns {image id: encoded image bytes} of one split of diabetic TFRecords, in file order."""
    features = {"image/encoded": tf.FixedLenFeature((), tf.string),
                "image/filename": tf.FixedLenFeature((), tf.string)}
    with tf.Graph().as_default():
        files = sorted(tf.gfile.Glob(os.path.join(dataset_dir, f"diabetic_{split}_*.tfrecord")))
        records = tf.data.TFRecordDataset(files).map(lambda record: tf.parse_single_example(record, features))
        example = tf.data.make_one_shot_iterator(records).get_next()
        images = {}
        with tf.Session() as session:
            while True:
                try:
                    values = session.run(example)
                except tf.errors.OutOfRangeError:
                    return images
                images[values["image/filename"].decode()] = values["image/encoded"]


def split_predictions(dataset_dir, checkpoint, split="test", config=TEST_CONFIG):
    """Returns model_runner.Predictions of `checkpoint` over one split of diabetic TFRecords."""
    dataset = dataset_factory.get_dataset("diabetic", split, dataset_dir)
    split_input = evaluate.dataset_input(dataset, 5, batch_size=4)
    return model_runner.collect_predictions(checkpoint, config, split_input.make_batches, split_input.num_samples)
