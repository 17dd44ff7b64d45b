"""Deploys a model as clones across devices and machines, as upstream TF-Slim does.

A clone is one copy of the model on one device (GPU, or CPU with
`clone_on_cpu`); all clones share one set of variables, which live on the CPU
or, with parameter servers, round-robin on the `ps` tasks. Each clone computes
its loss and gradients; the gradients are summed and applied once, and only
the first clone's update ops (e.g. batch-norm statistics) run.

Multi-machine training uses TensorFlow's distributed runtime: every host serves
its job and task of one cluster with scripts/start_server.py (see its docstring),
and each worker trains against its own server, e.g. with two parameter servers::

    python train_image_classifier.py --master=grpc://localhost:2222 --task=0 \
        --worker_replicas=2 --num_ps_tasks=2 ...   # and --task=1 on the second worker
"""
import collections

from slim_compat import slim, tf

Clone = collections.namedtuple("Clone", ["outputs", "scope", "device"])
DeployedModel = collections.namedtuple("DeployedModel", ["train_op", "summary_op", "total_loss", "clones"])


class DeploymentConfig:
    """Where clones, variables, inputs and the optimizer go.

    Args:
      num_clones: model copies per replica (one per GPU).
      clone_on_cpu: put the clones on the CPU.
      replica_id: index of this worker replica.
      num_replicas: number of worker replicas.
      num_ps_tasks: parameter-server tasks; 0 keeps the variables on this machine.
      worker_job_name, ps_job_name: job names in the cluster spec.

    Raises:
      ValueError: several replicas without parameter servers, or replica_id out of range.
    """

    def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0, num_replicas=1, num_ps_tasks=0,
                 worker_job_name="worker", ps_job_name="ps"):
        if num_replicas > 1 and num_ps_tasks < 1:
            raise ValueError("num_ps_tasks must be positive when num_replicas > 1")
        if num_replicas > 1 or num_ps_tasks > 0:
            if not worker_job_name or not ps_job_name:
                raise ValueError("worker_job_name and ps_job_name are needed with replicas or ps tasks")
        if replica_id >= num_replicas:
            raise ValueError(f"replica_id {replica_id} must be less than num_replicas {num_replicas}")
        self.num_clones = num_clones
        self.clone_on_cpu = clone_on_cpu
        self.replica_id = replica_id
        self.num_replicas = num_replicas
        self.num_ps_tasks = num_ps_tasks
        self.worker_device = f"/job:{worker_job_name}/task:{replica_id}" if num_ps_tasks > 0 else ""
        self.ps_device = f"/job:{ps_job_name}" if num_ps_tasks > 0 else ""

    def clone_device(self, clone_index):
        """Returns the device of clone `clone_index`.

        A single clone not forced onto the CPU gets no device, so TensorFlow
        puts it on the GPU when there is one and on the CPU otherwise.

        Raises:
          ValueError: `clone_index` is not less than num_clones.
        """
        if clone_index >= self.num_clones:
            raise ValueError(f"clone_index {clone_index} must be less than num_clones {self.num_clones}")
        if self.clone_on_cpu:
            return self.worker_device + "/device:CPU:0"
        if self.num_clones == 1:
            return self.worker_device
        return self.worker_device + f"/device:GPU:{clone_index}"

    def clone_scope(self, clone_index):
        """Returns the name scope of clone `clone_index` (empty with a single clone)."""
        if clone_index >= self.num_clones:
            raise ValueError(f"clone_index {clone_index} must be less than num_clones {self.num_clones}")
        return f"clone_{clone_index}" if self.num_clones > 1 else ""

    def optimizer_device(self):
        """Returns the device that applies gradients: this worker's CPU."""
        return self.worker_device + "/device:CPU:0"

    def inputs_device(self):
        """Returns the device that builds the input pipeline: this worker's CPU."""
        return self.worker_device + "/device:CPU:0"

    def variables_device(self):
        """Returns the device (or device function) that holds the variables.

        Without parameter servers: this worker's CPU. With them: model
        variables round-robin over the ps tasks; other ops stay where they are.
        """
        device = self.ps_device + "/device:CPU:0"
        if self.num_ps_tasks == 0:
            return device
        chooser = tf.train.replica_device_setter(self.num_ps_tasks, ps_device=self.ps_device,
                                                 worker_device=self.worker_device)
        return lambda op: chooser(op) if op.type in ("Variable", "VariableV2", "VarHandleOp") else op.device


def create_clones(config, model_fn, args=None, kwargs=None):
    """Builds `model_fn(*args, **kwargs)` once per clone, sharing the variables.

    `model_fn` must add its losses to `tf.GraphKeys.LOSSES` (tf.losses does).

    Returns:
      A list of `Clone(outputs, scope, device)`.
    """
    args, kwargs = args or [], kwargs or {}
    clones = []
    with slim.arg_scope([slim.model_variable, slim.variable], device=config.variables_device()):
        for index in range(config.num_clones):
            with tf.name_scope(config.clone_scope(index)) as scope:
                device = config.clone_device(index)
                with tf.device(device), tf.variable_scope(tf.get_variable_scope(), reuse=index > 0):
                    clones.append(Clone(model_fn(*args, **kwargs), scope, device))
    return clones


def _clone_loss(clone, num_clones, regularization_losses):
    """Returns this clone's loss (averaged over clones) plus `regularization_losses`, or None.

    Called inside the clone's name scope; the ops get names other than the
    summary tags so that the tags read `clone_loss`, not `clone_loss_1`.
    """
    with tf.device(clone.device):
        losses = tf.get_collection(tf.GraphKeys.LOSSES, clone.scope)
        clone_loss = tf.add_n(losses, name="sum_of_losses") if losses else None
        if clone_loss is not None and num_clones > 1:
            clone_loss = tf.divide(clone_loss, 1.0 * num_clones, name="scaled_sum_of_losses")
        regularization = tf.add_n(regularization_losses, name="sum_of_regularization_losses") \
            if regularization_losses else None
    if clone_loss is not None:
        tf.summary.scalar("clone_loss", clone_loss)
    if regularization is not None:
        tf.summary.scalar("regularization_loss", regularization)
    parts = [loss for loss in (clone_loss, regularization) if loss is not None]
    return tf.add_n(parts) if parts else None


def _sum_gradients(clone_grads):
    """Sums the gradients of each variable over the clones."""
    summed = []
    for grads_and_vars in zip(*clone_grads):
        variable = grads_and_vars[0][1]
        grads = [grad for grad, _ in grads_and_vars if grad is not None]
        if not grads:
            continue
        total = tf.add_n(grads, name=variable.op.name + "/sum_grads") if len(grads) > 1 else grads[0]
        summed.append((total, variable))
    return summed


def optimize_clones(clones, optimizer, regularization_losses=None, **kwargs):
    """Computes the clones' losses and their summed gradients.

    Args:
      clones: from `create_clones`.
      optimizer: the optimizer whose `compute_gradients` is used.
      regularization_losses: added to the first clone only; None means the
        graph's REGULARIZATION_LOSSES collection.
      **kwargs: passed to `compute_gradients` (e.g. `var_list`).

    Returns:
      (total loss over all clones, [(summed gradient, variable)]).
    """
    if regularization_losses is None:
        regularization_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    clone_losses, clone_grads = [], []
    for index, clone in enumerate(clones):
        with tf.name_scope(clone.scope):
            loss = _clone_loss(clone, len(clones), regularization_losses if index == 0 else None)
            if loss is None:
                continue
            clone_losses.append(loss)
            with tf.device(clone.device):
                clone_grads.append(optimizer.compute_gradients(loss, **kwargs))
    total_loss = tf.add_n(clone_losses, name="sum_of_clone_losses")
    return total_loss, _sum_gradients(clone_grads)


def deploy(config, model_fn, args=None, kwargs=None, optimizer=None, summarize_gradients=False):
    """Builds the clones and, given an optimizer, the op that trains them.

    Returns:
      DeployedModel(train_op, summary_op, total_loss, clones); without an
      optimizer, train_op is None and total_loss the clones' loss.
    """
    summaries_before = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
    global_step = tf.train.get_or_create_global_step()
    clones = create_clones(config, model_fn, args, kwargs)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, clones[0].scope)
    train_op = None
    with tf.device(config.optimizer_device()):
        if optimizer is not None:
            total_loss, grads_and_vars = optimize_clones(clones, optimizer)
            if summarize_gradients:
                slim.learning.add_gradients_summaries(grads_and_vars)
            # The reported loss is the one the gradients came from, read before any update.
            with tf.control_dependencies([total_loss]):
                grad_updates = optimizer.apply_gradients(grads_and_vars, global_step=global_step)
            with tf.control_dependencies([grad_updates, *update_ops]):
                train_op = tf.identity(total_loss, name="train_op")
        else:
            losses = []
            for clone in clones:
                with tf.name_scope(clone.scope):
                    losses.append(_clone_loss(clone, len(clones), None))
            total_loss = tf.add_n([loss for loss in losses if loss is not None]
                                  + tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES), name="sum_of_clone_losses")
    tf.summary.scalar("total_loss", total_loss)
    new_summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES)) - summaries_before
    summary_op = tf.summary.merge(list(new_summaries), name="summary_op") if new_summaries else None
    return DeployedModel(train_op, summary_op, total_loss, clones)
