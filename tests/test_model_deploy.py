"""model_deploy: device placement, shared variables across clones, loss averaging and gradient summing."""
import numpy as np
import pytest

from deployment import model_deploy
from slim_compat import slim, tf


def test_config_places_clones_variables_and_inputs_like_upstream():
    config = model_deploy.DeploymentConfig(num_clones=2)
    assert config.clone_device(1) == "/device:GPU:1" and config.clone_scope(1) == "clone_1"
    assert config.variables_device() == "/device:CPU:0" and config.inputs_device() == "/device:CPU:0"
    assert config.caching_device() is None
    single = model_deploy.DeploymentConfig()
    assert single.clone_scope(0) == "" and single.clone_device(0) == "/device:GPU:0"
    assert model_deploy.DeploymentConfig(clone_on_cpu=True).clone_device(0) == "/device:CPU:0"
    remote = model_deploy.DeploymentConfig(num_replicas=2, replica_id=1, num_ps_tasks=2, num_clones=2)
    assert (remote.worker_device, remote.ps_device) == ("/job:worker", "/job:ps")
    assert remote.clone_device(1) == "/job:worker/device:GPU:1"
    assert remote.optimizer_device() == remote.inputs_device() == "/job:worker/device:CPU:0"


def test_config_rejects_replicas_without_parameter_servers_and_bad_indices():
    with pytest.raises(ValueError, match="num_ps_tasks must be positive"):
        model_deploy.DeploymentConfig(num_replicas=2)
    with pytest.raises(ValueError, match="replica_id must be less than num_replicas"):
        model_deploy.DeploymentConfig(num_replicas=2, replica_id=2, num_ps_tasks=1)
    with pytest.raises(ValueError, match="Must specify ps_job_name"):
        model_deploy.DeploymentConfig(num_ps_tasks=1, ps_job_name="")
    with pytest.raises(ValueError, match="clone_index must be less than num_clones"):
        model_deploy.DeploymentConfig().clone_device(1)


def test_variables_round_robin_over_parameter_server_cpus_and_reads_stay_on_the_worker():
    config = model_deploy.DeploymentConfig(num_ps_tasks=2)
    with tf.Graph().as_default():
        with tf.device(config.variables_device()):
            first, second, third = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
            other = tf.no_op()
            cached = slim.variable("cached", [], caching_device=config.caching_device())
        with tf.device(config.variables_device()):
            restarted = tf.Variable(4.0)
    assert [first.device, second.device, third.device, cached.device] == [
        "/job:ps/task:0/device:CPU:0", "/job:ps/task:1/device:CPU:0"] * 2
    assert first.value().device == first.device and other.device == ""
    # Reads of a cached variable are built off the ps; a fresh device function starts again at task 0.
    assert cached.value().device == ""
    assert restarted.device == "/job:ps/task:0/device:CPU:0"


def linear_model(inputs, targets):
    """One weight, one bias, squared error; a batch-norm-like update op counts how often it runs."""
    weight = slim.model_variable("weight", shape=[], initializer=tf.constant_initializer(1.0))
    bias = slim.model_variable("bias", shape=[], initializer=tf.constant_initializer(0.0))
    counter = tf.get_variable("updates", shape=[], initializer=tf.zeros_initializer(), trainable=False)
    tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, tf.assign_add(counter, 1.0))
    tf.losses.mean_squared_error(targets, weight * inputs + bias)
    return counter


def test_two_cpu_clones_share_variables_average_losses_and_sum_gradients():
    # (inputs, targets) of each clone.
    halves = ([1.0, 2.0], [3.0, 4.0]), ([2.0, 4.0], [6.0, 9.0])
    with tf.Graph().as_default():
        config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
        inputs = iter(halves)

        def model_fn():
            clone_inputs, clone_targets = next(inputs)
            return linear_model(tf.constant(clone_inputs), tf.constant(clone_targets))

        deployed = model_deploy.deploy(config, model_fn, optimizer=tf.train.GradientDescentOptimizer(0.1))
        assert len(slim.get_model_variables()) == 2
        assert [clone.scope for clone in deployed.clones] == ["clone_0/", "clone_1/"]
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            loss = session.run(deployed.train_op)
            weight, bias, counter = session.run([*slim.get_model_variables(), deployed.clones[0].outputs])
    (x0, y0), (x1, y1) = np.array(halves)
    errors0, errors1 = x0 - y0, x1 - y1
    # The loss is the mean of the clones' losses; the gradient the sum of the clones' halved gradients.
    np.testing.assert_allclose(loss, ((errors0 ** 2).mean() + (errors1 ** 2).mean()) / 2, rtol=1e-6)
    grad_weight = ((2 * errors0 * x0).mean() + (2 * errors1 * x1).mean()) / 2
    grad_bias = ((2 * errors0).mean() + (2 * errors1).mean()) / 2
    np.testing.assert_allclose([weight, bias], [1.0 - 0.1 * grad_weight, -0.1 * grad_bias], rtol=1e-6)
    # Only the first clone's update ops run.
    assert counter == 1.0


def regularized_layer():
    outputs = slim.fully_connected(tf.ones([4, 3]), 2, weights_regularizer=slim.l2_regularizer(0.01))
    tf.losses.mean_squared_error(tf.zeros([4, 2]), outputs)


@pytest.mark.parametrize("with_optimizer", [True, False])
def test_deploy_names_ops_like_upstream_and_keeps_summaries_and_global_step_off_the_gpus(with_optimizer):
    with tf.Graph().as_default():
        config = model_deploy.DeploymentConfig(num_clones=2, num_ps_tasks=1)
        optimizer = tf.train.GradientDescentOptimizer(0.1) if with_optimizer else None
        deployed = model_deploy.deploy(config, regularized_layer, optimizer=optimizer)
        assert deployed.total_loss.op.name == "total_loss"
        assert deployed.summary_op.op.name == "summary_op/summary_op"
        assert {tensor.device for tensor in deployed.summary_op.op.inputs} == {"/job:worker/device:CPU:0"}
        tags = {tf.get_static_value(tensor.op.inputs[0]).item().decode() for tensor in deployed.summary_op.op.inputs}
        # The first clone's loss, the regularization (first clone only) and the total, with exact tags.
        assert tags == {"clone_0/clone_loss", "regularization_loss", "total_loss"}
        if with_optimizer:
            assert deployed.train_op.op.name == "train_op"
            assert tf.train.get_global_step().device == "/job:ps/task:0/device:CPU:0"
        else:
            assert deployed.train_op is None and tf.train.get_global_step() is None
