"""model_deploy: device placement, shared variables across clones, loss averaging and gradient summing."""
import numpy as np
import pytest

from deployment import model_deploy
from slim_compat import slim, tf


def test_config_places_clones_variables_and_inputs_like_upstream():
    config = model_deploy.DeploymentConfig(num_clones=2)
    assert config.clone_device(1) == "/device:GPU:1" and config.clone_scope(1) == "clone_1"
    assert config.variables_device() == "/device:CPU:0" and config.inputs_device() == "/device:CPU:0"
    single = model_deploy.DeploymentConfig()
    assert single.clone_scope(0) == "" and single.clone_device(0) == ""
    assert model_deploy.DeploymentConfig(clone_on_cpu=True).clone_device(0) == "/device:CPU:0"
    remote = model_deploy.DeploymentConfig(num_replicas=2, replica_id=1, num_ps_tasks=2, clone_on_cpu=True)
    assert remote.clone_device(0) == "/job:worker/task:1/device:CPU:0"
    assert remote.optimizer_device() == "/job:worker/task:1/device:CPU:0"


def test_config_rejects_replicas_without_parameter_servers_and_bad_indices():
    with pytest.raises(ValueError, match="num_ps_tasks must be positive"):
        model_deploy.DeploymentConfig(num_replicas=2)
    with pytest.raises(ValueError, match="replica_id 2 must be less than num_replicas 2"):
        model_deploy.DeploymentConfig(num_replicas=2, replica_id=2, num_ps_tasks=1)
    with pytest.raises(ValueError, match="clone_index 1 must be less than num_clones 1"):
        model_deploy.DeploymentConfig().clone_device(1)


def test_variables_round_robin_over_parameter_servers():
    config = model_deploy.DeploymentConfig(num_ps_tasks=2)
    with tf.Graph().as_default():
        with tf.device(config.variables_device()):
            first, second = tf.Variable(1.0), tf.Variable(2.0)
    assert first.device == "/job:ps/task:0"
    assert second.device == "/job:ps/task:1"


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
