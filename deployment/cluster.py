"""TensorFlow's own distributed runtime: the cluster every ps and worker task shares."""
from slim_compat import tf


def cluster_spec(ps_hosts, worker_hosts):
    """Returns the ClusterSpec for comma-separated `host:port` lists of ps and worker tasks.

    Raises:
      ValueError: no worker, or an address without a port.
    """
    jobs = {"ps": [h for h in ps_hosts.split(",") if h], "worker": [h for h in worker_hosts.split(",") if h]}
    if not jobs["worker"]:
        raise ValueError("--worker_hosts must name at least one host:port")
    for address in jobs["ps"] + jobs["worker"]:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster address {address!r} is not host:port")
    return tf.train.ClusterSpec({job: hosts for job, hosts in jobs.items() if hosts})


def start_server(ps_hosts, worker_hosts, job_name, task_index):
    """Starts this task's in-process gRPC server and returns it (its `target` is the --master to use)."""
    return tf.train.Server(cluster_spec(ps_hosts, worker_hosts), job_name=job_name, task_index=task_index)
