"""--sync_replicas: the chief applies one update per aggregated set of gradients and stops when training stops."""
import numpy as np
import pytest

from slim_compat import slim, tf
from training.sync_replicas import SyncReplicasOptimizer

LEARNING_RATE = 0.1
SLOPE = np.array([1.0, -2.0, 3.0], np.float32)


def linear_model(replicas_to_aggregate, total_num_replicas):
    """A weight whose loss `SLOPE . weight` has the constant gradient SLOPE; returns (weight, optimizer, train_op)."""
    global_step = tf.train.create_global_step()
    weight = tf.get_variable("weight", initializer=np.zeros(3, np.float32))
    loss = tf.tensordot(tf.constant(SLOPE), weight, 1)
    optimizer = SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(LEARNING_RATE), replicas_to_aggregate,
                                      total_num_replicas)
    train_op = optimizer.minimize(loss, global_step=global_step)
    with tf.control_dependencies([train_op]):
        return weight, optimizer, tf.identity(loss)


def test_slim_training_ends_cleanly_after_the_last_aggregated_update(tmp_path):
    with tf.Graph().as_default():
        _, optimizer, train_op = linear_model(replicas_to_aggregate=1, total_num_replicas=1)
        # TensorFlow's own chief queue runner stays blocked here, and Supervisor.stop
        # raises "Coordinator stopped with threads still running" after 120 s.
        slim.learning.train(train_op, str(tmp_path), number_of_steps=3, sync_optimizer=optimizer,
                            save_summaries_secs=0, save_interval_secs=0)
    checkpoint = tf.train.latest_checkpoint(str(tmp_path))
    assert checkpoint.endswith("model.ckpt-3")
    np.testing.assert_allclose(tf.train.load_checkpoint(checkpoint).get_tensor("weight"),
                               -3 * LEARNING_RATE * SLOPE, rtol=1e-6)


def test_chief_stop_ends_the_replicas_waiting_for_a_token():
    with tf.Graph().as_default():
        _, optimizer, train_op = linear_model(replicas_to_aggregate=2, total_num_replicas=2)
        with tf.Session() as session:
            session.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            session.run(optimizer.chief_init_op)
            coordinator = tf.train.Coordinator()
            threads = optimizer.get_chief_queue_runner().create_threads(session, coord=coordinator, start=True)
            # No gradient ever comes; the update thread must still notice the stop.
            coordinator.request_stop()
            coordinator.join(threads, stop_grace_period_secs=5)
            with pytest.raises(tf.errors.OutOfRangeError, match="closed"):
                session.run(train_op)
