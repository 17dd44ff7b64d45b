"""The cluster helpers behind scripts/start_server.py."""
import socket

import pytest

from deployment import cluster
from slim_compat import tf


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def test_cluster_spec_lists_both_jobs():
    spec = cluster.cluster_spec("ps0:2222", "w0:2222,w1:2223")
    assert spec.job_tasks("ps") == ["ps0:2222"]
    assert spec.job_tasks("worker") == ["w0:2222", "w1:2223"]


@pytest.mark.parametrize("ps_hosts, worker_hosts, message", [
    ("ps0:2222", "", "at least one"),
    ("ps0", "w0:2222", "'ps0' is not host:port"),
    ("", "w0:port", "'w0:port' is not host:port"),
])
def test_bad_cluster_addresses_are_clear_errors(ps_hosts, worker_hosts, message):
    with pytest.raises(ValueError, match=message):
        cluster.cluster_spec(ps_hosts, worker_hosts)


def test_variables_placed_on_the_ps_task_are_served_through_the_worker():
    ps_hosts, worker_hosts = f"localhost:{free_port()}", f"localhost:{free_port()}"
    cluster.start_server(ps_hosts, worker_hosts, "ps", 0)
    worker = cluster.start_server(ps_hosts, worker_hosts, "worker", 0)
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            counter = tf.Variable(41, name="counter")
        increment = counter.assign_add(1)
        with tf.Session(worker.target) as session:
            session.run(tf.global_variables_initializer())
            assert session.run(increment) == 42
