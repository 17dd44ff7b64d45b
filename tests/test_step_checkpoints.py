"""Checkpoints saved by the training step, between steps: each holds the step it is named after."""
import glob
import os

from slim_compat import tf
from training import step_checkpoints
from training.train_step import make_train_step_fn


def run_steps(train_dir, num_steps, interval_secs, start_step=0):
    """Runs `num_steps` of a graph whose one weight counts the steps; returns {checkpoint step: its contents}.

    The clock reads the global step: one step lasts a second.
    """
    with tf.Graph().as_default():
        global_step = tf.train.create_global_step()
        weight = tf.get_variable("weight", initializer=float(start_step))
        with tf.control_dependencies([weight.assign_add(1.0)]):
            train_op = tf.identity(tf.cast(global_step.assign_add(1), tf.float32))
        stop = tf.greater_equal(global_step, num_steps + start_step)
        saver = tf.train.Saver(max_to_keep=None)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(global_step.assign(start_step))
            checkpoints = step_checkpoints.StepCheckpoints(saver, train_dir, interval_secs,
                                                           clock=lambda: session.run(global_step))
            step_fn = make_train_step_fn(1, checkpoints=checkpoints)
            while not step_fn(session, train_op, global_step, {"should_stop": stop})[1]:
                pass
    saved = {}
    for index in glob.glob(os.path.join(train_dir, "model.ckpt-*.index")):
        path = index[:-len(".index")]
        reader = tf.train.load_checkpoint(path)
        saved[int(path.rsplit("-", 1)[1])] = (reader.get_tensor("global_step"), reader.get_tensor("weight"))
    return saved


def test_fresh_run_saves_its_initial_weights_as_step_0_then_every_interval(tmp_path):
    saved = run_steps(str(tmp_path), num_steps=10, interval_secs=4)
    assert sorted(saved) == [0, 4, 8]
    for step, (stored_step, weight) in saved.items():
        assert stored_step == step and weight == step


def test_resumed_run_does_not_save_its_start_again(tmp_path):
    saved = run_steps(str(tmp_path), num_steps=6, interval_secs=4, start_step=10)
    assert saved == {14: (14, 14)}


def test_zero_interval_saves_nothing_between_steps(tmp_path):
    assert run_steps(str(tmp_path), num_steps=3, interval_secs=0) == {}


def test_the_last_step_is_left_to_the_final_save(tmp_path):
    # Due at step 4, the last one: slim.learning.train saves it after the loop, so not here too.
    assert sorted(run_steps(str(tmp_path), num_steps=4, interval_secs=4)) == [0]
