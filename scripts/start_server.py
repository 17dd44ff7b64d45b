"""Runs one task of a multi-machine training cluster until killed.

On each parameter-server machine:
  python scripts/start_server.py --ps_hosts=ps0:2222 --worker_hosts=w0:2222,w1:2222 --job_name=ps --task_index=0
On each worker machine, the server, then training against it (task 0 is the chief):
  python scripts/start_server.py --ps_hosts=... --worker_hosts=... --job_name=worker --task_index=I &
  python train_image_classifier.py --master=grpc://localhost:2222 --task=I --worker_replicas=2 --num_ps_tasks=1 ...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags, logging  # noqa: E402

from deployment import cluster  # noqa: E402

flags.DEFINE_string("ps_hosts", "", "Comma-separated host:port of the parameter-server tasks.")
flags.DEFINE_string("worker_hosts", "", "Comma-separated host:port of the worker tasks.")
flags.DEFINE_enum("job_name", "worker", ["ps", "worker"], "This task's job.")
flags.DEFINE_integer("task_index", 0, "This task's index within its job.")
FLAGS = flags.FLAGS


def main(_):
    server = cluster.start_server(FLAGS.ps_hosts, FLAGS.worker_hosts, FLAGS.job_name, FLAGS.task_index)
    logging.info("%s task %d serving at %s", FLAGS.job_name, FLAGS.task_index, server.target)
    server.join()


if __name__ == "__main__":
    app.run(main)
