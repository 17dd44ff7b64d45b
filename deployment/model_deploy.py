"""Deploys a model as clones across devices and machines, with upstream TF-Slim's API and device strings.

A clone is one copy of the model on one device (`/device:GPU:i`, or the CPU with
`clone_on_cpu`); all clones share one set of variables, which live on the CPU
or, with parameter servers, round-robin on the CPUs of the `ps` tasks. Each
clone computes its loss and gradients; the gradients are summed and applied
once, and only the first clone's update ops (e.g. batch-norm statistics) run.
Sessions running a GPU clone on a machine without one need
`allow_soft_placement` (training sets it).

Beyond upstream: summary tags are exactly `clone_loss` (`clone_i/clone_loss`
with several clones), `regularization_loss` and `total_loss` although ops of
those names exist (upstream's tags came out as e.g. `total_loss_1`), and the
train op's loss is the one its gradients came from, read before any update.

Multi-machine training uses TensorFlow's distributed runtime: every host serves
its job and task of one cluster with scripts/start_server.py (see its docstring),
and each worker trains against its own server, e.g. with two parameter servers::

    python train_image_classifier.py --master=grpc://localhost:2222 --task=0 \
        --worker_replicas=2 --num_ps_tasks=2 ...   # and --task=1 on the second worker
"""
import collections
import itertools

from absl import logging

from slim_compat import slim, tf

__all__ = ["create_clones", "deploy", "optimize_clones", "DeployedModel", "DeploymentConfig", "Clone"]

# What model_fn returned, the name scope it was built in and its device.
Clone = collections.namedtuple("Clone", ["outputs", "scope", "device"])
DeployedModel = collections.namedtuple("DeployedModel", ["train_op", "summary_op", "total_loss", "clones"])

VARIABLE_OP_TYPES = ("Variable", "VariableV2", "VarHandleOp")


def scalar_summary(tag, tensor):
    """Adds a scalar summary whose tag is exactly `tag` (tf.summary.scalar adds `_1` when an op of that name
    exists) to the SUMMARIES collection and returns it."""
    summary = tf.raw_ops.ScalarSummary(tags=tag, values=tensor, name=tag.rsplit("/", 1)[-1] + "_summary")
    tf.add_to_collection(tf.GraphKeys.SUMMARIES, summary)
    return summary


def create_clones(config, model_fn, args=None, kwargs=None):
    """Builds `model_fn(*args, **kwargs)` once per clone, sharing the variables.

    Each clone is built in its name scope (`clone_i` with several clones) on its
    device; slim variables go to `config.variables_device()`. `model_fn` must add
    its losses to `tf.GraphKeys.LOSSES` (tf.losses and slim.losses do); a clone's
    losses, summaries and update ops are the collections' items in `clone.scope`.

    Returns:
      A list of `Clone(outputs, scope, device)`.
    """
    args, kwargs = args or [], kwargs or {}
    clones = []
    with slim.arg_scope([slim.model_variable, slim.variable], device=config.variables_device()):
        for index in range(config.num_clones):
            with tf.name_scope(config.clone_scope(index)) as scope:
                device = config.clone_device(index)
                with tf.device(device):
                    with tf.variable_scope(tf.get_variable_scope(), reuse=True if index > 0 else None):
                        outputs = model_fn(*args, **kwargs)
                    clones.append(Clone(outputs, scope, device))
    return clones


def _gather_clone_loss(clone, num_clones, regularization_losses):
    """Returns this clone's loss (divided by `num_clones` when several) plus `regularization_losses`, or None.

    The sums run on the clone's device, their summaries where the caller builds.
    """
    clone_loss = regularization_loss = None
    with tf.device(clone.device):
        losses = tf.get_collection(tf.GraphKeys.LOSSES, clone.scope)
        if losses:
            clone_loss = tf.add_n(losses, name="clone_loss")
            if num_clones > 1:
                clone_loss = tf.divide(clone_loss, 1.0 * num_clones, name="scaled_clone_loss")
        if regularization_losses:
            regularization_loss = tf.add_n(regularization_losses, name="regularization_loss")
        parts = [loss for loss in (clone_loss, regularization_loss) if loss is not None]
        sum_loss = tf.add_n(parts) if parts else None
    if clone_loss is not None:
        scalar_summary(clone.scope + "clone_loss", clone_loss)
    if regularization_loss is not None:
        scalar_summary("regularization_loss", regularization_loss)
    return sum_loss


def _gather_clones_losses(clones, regularization_losses, gradients_fn=None):
    """Returns (each clone's loss, each clone's gradients) for the clones that have a loss.

    The regularization losses go to the first clone only; `gradients_fn(loss)`, when given, runs on
    the clone's device.
    """
    losses, gradients = [], []
    for clone in clones:
        with tf.name_scope(clone.scope):
            loss = _gather_clone_loss(clone, len(clones), regularization_losses)
            if loss is not None:
                losses.append(loss)
                if gradients_fn is not None:
                    with tf.device(clone.device):
                        gradients.append(gradients_fn(loss))
        regularization_losses = None
    return losses, gradients


def _sum_clones_gradients(clone_grads):
    """Sums the gradients of each variable over the clones (each already scaled by 1 / num_clones)."""
    summed = []
    for grads_and_vars in zip(*clone_grads):
        variable = grads_and_vars[0][1]
        grads = [grad for grad, _ in grads_and_vars if grad is not None]
        if grads:
            total = tf.add_n(grads, name=variable.op.name + "/sum_grads") if len(grads) > 1 else grads[0]
            summed.append((total, variable))
    return summed


def optimize_clones(clones, optimizer, regularization_losses=None, **kwargs):
    """Computes the clones' losses and their summed gradients.

    Args:
      clones: from `create_clones`.
      optimizer: the optimizer whose `compute_gradients` is used.
      regularization_losses: added to the first clone only; None means the
        graph's REGULARIZATION_LOSSES collection, `[]` none.
      **kwargs: passed to `compute_gradients` (e.g. `var_list`).

    Returns:
      (total_loss, the sum over clones of their losses, named `total_loss`;
       [(gradient summed over clones, variable)]).
    """
    if regularization_losses is None:
        regularization_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    losses, gradients = _gather_clones_losses(clones, regularization_losses,
                                              lambda loss: optimizer.compute_gradients(loss, **kwargs))
    return tf.add_n(losses, name="total_loss"), _sum_clones_gradients(gradients)


def _add_gradients_summaries(grads_and_vars):
    """Adds histograms of each gradient and of its norm; returns them."""
    summaries = []
    for grad, variable in grads_and_vars:
        if grad is None:
            logging.info("Var %s has no gradient", variable.op.name)
            continue
        values = grad.values if isinstance(grad, tf.IndexedSlices) else grad
        summaries.append(tf.summary.histogram(variable.op.name + ":gradient", values))
        summaries.append(tf.summary.histogram(variable.op.name + ":gradient_norm", tf.global_norm([values])))
    return summaries


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None, summarize_gradients=False):
    """Builds the clones and, given an optimizer, the op that trains them.

    The global step is created on `config.variables_device()`; losses,
    gradients' application and summaries on `config.optimizer_device()`.

    Returns:
      DeployedModel(train_op, summary_op, total_loss, clones): `train_op` (None
      without an optimizer) applies the summed gradients and the first clone's
      update ops and yields `total_loss` (None when no clone has a loss);
      `summary_op` merges the summaries that existed before, the first clone's,
      and `total_loss`'s.
    """
    summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
    clones = create_clones(config, model_fn, args, kwargs)
    first_clone = clones[0]
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone.scope)
    train_op = total_loss = None
    with tf.device(config.optimizer_device()):
        if optimizer:
            with tf.device(config.variables_device()):
                global_step = tf.train.get_or_create_global_step()
            total_loss, clones_gradients = optimize_clones(clones, optimizer)
            if clones_gradients:
                if summarize_gradients:
                    summaries |= set(_add_gradients_summaries(clones_gradients))
                with tf.control_dependencies([total_loss]):
                    grad_updates = optimizer.apply_gradients(clones_gradients, global_step=global_step)
                with tf.control_dependencies([grad_updates, *update_ops]):
                    train_op = tf.identity(total_loss, name="train_op")
        else:
            losses, _ = _gather_clones_losses(clones, tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES))
            if losses:
                total_loss = tf.add_n(losses, name="total_loss")
        summaries |= set(tf.get_collection(tf.GraphKeys.SUMMARIES, first_clone.scope))
        if total_loss is not None:
            summaries.add(scalar_summary("total_loss", total_loss))
        summary_op = tf.summary.merge(list(summaries), name="summary_op") if summaries else None
    return DeployedModel(train_op, summary_op, total_loss, clones)


class DeploymentConfig:
    """Where clones, variables, inputs and the optimizer go.

    Args:
      num_clones: model copies per replica (one per GPU).
      clone_on_cpu: put the clones on the CPU.
      replica_id: index of this worker replica (0: the chief).
      num_replicas: number of worker replicas.
      num_ps_tasks: parameter-server tasks; 0 keeps the variables on this machine.
      worker_job_name, ps_job_name: job names in the cluster spec.

    Raises:
      ValueError: several replicas without parameter servers, a missing job name, or replica_id out of range.
    """

    def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0, num_replicas=1, num_ps_tasks=0,
                 worker_job_name="worker", ps_job_name="ps"):
        if num_replicas > 1 and num_ps_tasks < 1:
            raise ValueError("When using replicas num_ps_tasks must be positive")
        if num_replicas > 1 or num_ps_tasks > 0:
            if not worker_job_name:
                raise ValueError("Must specify worker_job_name when using replicas")
            if not ps_job_name:
                raise ValueError("Must specify ps_job_name when using parameter server")
        if replica_id >= num_replicas:
            raise ValueError(f"replica_id must be less than num_replicas (replica_id {replica_id}, "
                             f"num_replicas {num_replicas})")
        self._num_clones = num_clones
        self._clone_on_cpu = clone_on_cpu
        self._replica_id = replica_id
        self._num_replicas = num_replicas
        self._num_ps_tasks = num_ps_tasks
        self._ps_device = "/job:" + ps_job_name if num_ps_tasks > 0 else ""
        self._worker_device = "/job:" + worker_job_name if num_ps_tasks > 0 else ""

    num_clones = property(lambda self: self._num_clones)
    clone_on_cpu = property(lambda self: self._clone_on_cpu)
    replica_id = property(lambda self: self._replica_id)
    num_replicas = property(lambda self: self._num_replicas)
    num_ps_tasks = property(lambda self: self._num_ps_tasks)
    ps_device = property(lambda self: self._ps_device)
    worker_device = property(lambda self: self._worker_device)

    def caching_device(self):
        """Returns the caching device of variables: with parameter servers a function keeping each read
        where it is built (on the worker), else None (reads stay with the variable)."""
        if self._num_ps_tasks > 0:
            return lambda op: op.device
        return None

    def _check_clone_index(self, clone_index):
        if clone_index >= self._num_clones:
            raise ValueError(f"clone_index must be less than num_clones (clone_index {clone_index}, "
                             f"num_clones {self._num_clones})")

    def clone_device(self, clone_index):
        """Returns the device of clone `clone_index`: `/device:GPU:<index>` or, with clone_on_cpu,
        `/device:CPU:0`, on the worker job when there are parameter servers.

        Raises:
          ValueError: `clone_index` is not less than num_clones.
        """
        self._check_clone_index(clone_index)
        return self._worker_device + ("/device:CPU:0" if self._clone_on_cpu else f"/device:GPU:{clone_index}")

    def clone_scope(self, clone_index):
        """Returns the name scope of clone `clone_index`: `clone_<index>`, or empty with a single clone.

        Raises:
          ValueError: `clone_index` is not less than num_clones.
        """
        self._check_clone_index(clone_index)
        return f"clone_{clone_index}" if self._num_clones > 1 else ""

    def optimizer_device(self):
        """Returns the device that applies gradients: the worker's CPU."""
        if self._num_ps_tasks > 0 or self._num_clones > 0:
            return self._worker_device + "/device:CPU:0"
        return ""

    def inputs_device(self):
        """Returns the device that builds the input pipeline: the worker's CPU."""
        return self._worker_device + "/device:CPU:0"

    def variables_device(self):
        """Returns the device of the variables built in the clones.

        Without parameter servers `/device:CPU:0`; with them a device function
        putting each new variable on the CPU of the next ps task in turn
        (`/job:ps/task:<t>/device:CPU:0`), starting at task 0 on each call, and
        leaving every other op, and any op with a device, where it is.
        """
        if not self._num_ps_tasks:
            return "/device:CPU:0"
        tasks = itertools.cycle(range(self._num_ps_tasks))

        def choose(op):
            if op.device:
                return op.device
            node_def = op if isinstance(op, tf.NodeDef) else op.node_def
            if node_def.op in VARIABLE_OP_TYPES:
                return f"{self._ps_device}/task:{next(tasks)}/device:CPU:0"
            return op.device

        return choose
