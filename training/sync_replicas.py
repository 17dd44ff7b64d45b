"""Synchronous replicas (--sync_replicas) whose chief stops when training stops.

TensorFlow's SyncReplicasOptimizer gives the chief a QueueRunner that loops on
the aggregated update, and that update starts by waiting (take_grad) for
`replicas_to_aggregate` gradients. Nothing but closing the session cancels that
wait, and slim.learning.train joins the thread before it closes the session: after
the last step no gradient comes, the thread never returns, and Supervisor.stop
raises "Coordinator stopped with threads still running" after its 120 s grace
period (TF 1 behaved the same). The chief here starts an update only once every
gradient accumulator holds enough gradients, so between updates it sees a stop.
"""
import threading

from slim_compat import tf

# How often the chief looks for a full set of gradients (and for a stop request):
# the longest it can add to a global step.
GRADIENT_POLL_SECS = 0.01


class SyncReplicasOptimizer(tf.train.SyncReplicasOptimizer):
    """tf.train.SyncReplicasOptimizer whose chief update thread ends when its coordinator stops."""

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        train_op = super().apply_gradients(grads_and_vars, global_step=global_step, name=name)
        # The base class keeps its accumulators and their devices only in private attributes.
        counts = []
        for accumulator, device in self._accumulator_list:
            with tf.device(device):
                counts.append(accumulator.num_accumulated())
        with tf.device(global_step.device):
            self._gradients_ready = tf.reduce_all(tf.stack(counts) >= self._replicas_to_aggregate,
                                                  name="sync_gradients_ready")
        return train_op

    def get_chief_queue_runner(self):
        """Returns the chief's update runner (started by slim.learning.train like a QueueRunner)."""
        queue_runner = super().get_chief_queue_runner()
        update_op, = queue_runner.enqueue_ops
        return ChiefUpdateRunner(self._gradients_ready, update_op, queue_runner.cancel_op)


class ChiefUpdateRunner:
    """Applies the aggregated updates in a thread, never waiting inside a session run for gradients.

    Args:
      gradients_ready: boolean tensor, true when every accumulator holds enough gradients.
      update_op: applies the averaged gradients, advances the global step and hands
        the replicas their tokens for the next step.
      close_token_queue: closes the token queue, cancelling pending enqueues.
    """

    def __init__(self, gradients_ready, update_op, close_token_queue):
        self._gradients_ready = gradients_ready
        self._update_op = update_op
        self._close_token_queue = close_token_queue

    def create_threads(self, sess, coord, daemon=False, start=False):
        """Creates (and with `start` starts) the update thread, registered with `coord`; returns [thread]."""
        thread = threading.Thread(target=self._run, args=(sess, coord), name="SyncReplicasChiefUpdates",
                                  daemon=daemon)
        coord.register_thread(thread)
        if start:
            thread.start()
        return [thread]

    def _run(self, sess, coord):
        try:
            while not coord.should_stop():
                if sess.run(self._gradients_ready):
                    sess.run(self._update_op)
                else:
                    coord.wait_for_stop(GRADIENT_POLL_SECS)
            # Replicas still waiting for a token get OutOfRangeError, which
            # slim.learning.train reads as the end of training.
            sess.run(self._close_token_queue)
        except Exception as error:  # handed to the training loop, as a QueueRunner does
            coord.request_stop(error)
