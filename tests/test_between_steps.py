"""What the training step does between steps: checkpoints that hold the step they are named after, and
summaries of the step's own batch, computed in its own run (no batch taken away from training)."""
import glob
import os

from slim_compat import tf
from training import between_steps
from training.train_step import make_train_step_fn


def run_steps(train_dir, num_steps, save_interval_secs=0, summary_interval_secs=0, start_step=0,
              last_step="from num_steps"):
    """Trains a graph whose one weight adds up the batches it reads (0, 1, 2, ... one a step).

    The clock reads the global step: one step lasts a second. Returns the final weight, {checkpoint step:
    (its global step, its weight)} and [(step, the batch its summary shows)]. `last_step` is the step
    limit the summaries are told (the run's own by default; None: they are not told).
    """
    if last_step == "from num_steps":
        last_step = num_steps + start_step
    with tf.Graph().as_default():
        global_step = tf.train.create_global_step()
        batch = tf.cast(tf.data.make_one_shot_iterator(tf.data.Dataset.range(1000)).get_next(), tf.float32)
        weight = tf.get_variable("weight", initializer=0.0)
        with tf.control_dependencies([weight.assign_add(batch), global_step.assign_add(1)]):
            train_op = tf.identity(batch)
        summary_op = tf.summary.scalar("batch", batch)
        stop = tf.greater_equal(global_step, num_steps + start_step)
        writer = tf.summary.FileWriter(train_dir)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(global_step.assign(start_step))

            def clock():
                return session.run(global_step)

            step_fn = make_train_step_fn(
                1, between_steps.Summaries(summary_op, summary_interval_secs, last_step, clock),
                between_steps.Checkpoints(tf.train.Saver(max_to_keep=None), train_dir, save_interval_secs, clock))
            while not step_fn(session, train_op, global_step, {"should_stop": stop, "summary_writer": writer})[1]:
                pass
            final_weight = session.run(weight)
    writer.close()
    return final_weight, saved_checkpoints(train_dir), written_summaries(train_dir)


def saved_checkpoints(train_dir):
    saved = {}
    for index in glob.glob(os.path.join(train_dir, "model.ckpt-*.index")):
        path = index[:-len(".index")]
        reader = tf.train.load_checkpoint(path)
        saved[int(path.rsplit("-", 1)[1])] = (reader.get_tensor("global_step"), reader.get_tensor("weight"))
    return saved


def written_summaries(train_dir):
    return [(event.step, value.simple_value) for path in glob.glob(os.path.join(train_dir, "events.out.tfevents.*"))
            for event in tf.train.summary_iterator(path) for value in event.summary.value]


def test_fresh_run_saves_its_initial_weights_as_step_0_then_every_interval(tmp_path):
    _, saved, _ = run_steps(str(tmp_path), num_steps=10, save_interval_secs=4)
    # Batches 0..N-1 are read by steps 1..N: after step N the weight is N(N-1)/2.
    assert saved == {step: (step, step * (step - 1) / 2 if step else 0) for step in (0, 4, 8)}


def test_resumed_run_does_not_save_its_start_again(tmp_path):
    _, saved, _ = run_steps(str(tmp_path), num_steps=6, save_interval_secs=4, start_step=10)
    assert list(saved) == [14]


def test_zero_interval_saves_nothing_between_steps(tmp_path):
    assert run_steps(str(tmp_path), num_steps=3)[1] == {}


def test_the_last_step_is_left_to_the_final_save(tmp_path):
    # Due at step 4, the last one: slim.learning.train saves it after the loop, so not here too.
    assert list(run_steps(str(tmp_path), num_steps=4, save_interval_secs=4)[1]) == [0]


def test_summaries_show_the_batch_each_step_trained_on_and_take_none_away(tmp_path):
    final_weight, _, summaries = run_steps(str(tmp_path), num_steps=7, summary_interval_secs=3)
    # Due on the first step, then every 3 steps; the last step (7) always: each shows the batch of its step.
    assert sorted(summaries) == [(1, 0.0), (4, 3.0), (7, 6.0)]
    assert final_weight == sum(range(7))  # every batch read was trained on


def test_last_step_summary_is_the_step_itself_when_due(tmp_path):
    final_weight, _, summaries = run_steps(str(tmp_path), num_steps=4, summary_interval_secs=3)
    assert sorted(summaries) == [(1, 0.0), (4, 3.0)]
    assert final_weight == sum(range(4))


def test_zero_summary_interval_still_summarises_the_last_step(tmp_path):
    _, _, summaries = run_steps(str(tmp_path), num_steps=3)
    assert summaries == [(3, 2.0)]


def test_a_stop_not_foreseen_is_summarised_after_it(tmp_path):
    # Not told the limit (as a sync-replicas worker's count can miss it), the step summarises the next batch.
    final_weight, _, summaries = run_steps(str(tmp_path), num_steps=3, last_step=None)
    assert summaries == [(3, 3.0)] and final_weight == sum(range(3))


def test_interval_fires_at_once_then_after_each_interval():
    now = [0.0]
    interval = between_steps.Interval(2.5, clock=lambda: now[0])
    fired = []
    for now[0] in (0, 1, 2, 2.5, 3, 4.9, 5, 6):
        fired.append(interval.due())
    assert fired == [True, False, False, True, False, False, True, False]
    assert not between_steps.Interval(0).due()
