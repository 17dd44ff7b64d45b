"""Learning-rate schedules, optimizers and class-weighted losses, checked against hand computation."""
import types

import numpy as np
import pytest

from slim_compat import tf
from training import losses, optimization

UPSTREAM_OPTIMIZER_FLAGS = types.SimpleNamespace(
    adadelta_rho=0.95, adagrad_initial_accumulator_value=0.1, adam_beta1=0.9, adam_beta2=0.999, opt_epsilon=1.0,
    ftrl_learning_rate_power=-0.5, ftrl_initial_accumulator_value=0.1, ftrl_l1=0.0, ftrl_l2=0.0, momentum=0.9,
    rmsprop_momentum=0.9, rmsprop_decay=0.9)


@pytest.mark.parametrize("name", optimization.OPTIMIZERS)
def test_each_optimizer_builds_and_steps_downhill(name):
    with tf.Graph().as_default():
        global_step = tf.train.create_global_step()
        weight = tf.Variable(3.0)
        loss = tf.square(weight)
        step = optimization.optimizer(name, 0.1, UPSTREAM_OPTIMIZER_FLAGS).minimize(loss, global_step=global_step)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(step)
            assert session.run(weight) < 3.0
            assert session.run(global_step) == 1


@pytest.mark.parametrize("decay_type, expected", [
    ("fixed", [0.1, 0.1, 0.1, 0.1]),
    # Staircase: times 0.94 every 10 steps.
    ("exponential", [0.1, 0.1, 0.094, 0.1 * 0.94 ** 2]),
    # Linear from 0.1 to 0.0001 over 10 steps, then flat.
    ("polynomial", [0.1, 0.1 - 0.0999 * 0.5, 0.0001, 0.0001]),
])
def test_each_decay_type_follows_upstream(decay_type, expected):
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        rate = optimization.learning_rate(decay_type, 0.1, step, 10, 0.94, 0.0001)
        with tf.Session() as session:
            got = [session.run(rate, {step: value}) for value in (0, 5, 10, 20)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_decay_steps_count_epochs_of_one_clone_and_divide_by_aggregated_replicas():
    assert optimization.decay_steps(30000, 2.0, 32) == 1875
    assert optimization.decay_steps(30000, 2.0, 32, replicas_to_aggregate=4, sync_replicas=True) == 468


def test_unknown_optimizer_and_decay_type_are_clear_errors():
    with pytest.raises(ValueError, match=r"Optimizer \[lamb\] was not recognized"):
        optimization.optimizer("lamb", 0.1, UPSTREAM_OPTIMIZER_FLAGS)
    with pytest.raises(ValueError, match=r"learning_rate_decay_type \[cosine\] was not recognized"):
        optimization.check_decay_type("cosine")


def cross_entropy(logits, labels):
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(labels)), labels]


def test_class_weights_scale_each_examples_loss_as_computed_by_hand():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, -1.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    labels = np.array([0, 2, 1, 0])
    weights = [0.5, 4.0, 2.0]
    with tf.Graph().as_default():
        weighted = losses.add_classification_losses(tf.constant(logits), {}, tf.constant(labels), 3,
                                                    weights=weights)
        unweighted = losses.add_classification_losses(tf.constant(logits), {}, tf.constant(labels), 3)
        with tf.Session() as session:
            weighted, unweighted = session.run([weighted, unweighted])
    per_example = cross_entropy(logits.astype(np.float64), labels)
    np.testing.assert_allclose(unweighted, per_example.mean(), rtol=1e-5)
    np.testing.assert_allclose(weighted, (per_example * np.take(weights, labels)).sum() / len(labels), rtol=1e-5)
    assert not np.isclose(weighted, unweighted)


def test_aux_logits_add_a_second_loss_weighted_0_4():
    logits = np.array([[1.0, 0.0], [0.0, 2.0]], np.float32)
    aux = np.array([[0.0, 3.0], [1.0, 1.0]], np.float32)
    labels = np.array([0, 1])
    with tf.Graph().as_default():
        losses.add_classification_losses(tf.constant(logits), {"AuxLogits": tf.constant(aux)},
                                         tf.constant(labels), 2)
        with tf.Session() as session:
            total = session.run(tf.add_n(tf.losses.get_losses()))
    expected = cross_entropy(logits, labels).mean() + 0.4 * cross_entropy(aux, labels).mean()
    np.testing.assert_allclose(total, expected, rtol=1e-5)


def test_balanced_class_weights_come_from_the_label_counts():
    weights = losses.class_weights("balanced", 5, lambda: [70, 10, 15, 5, 0])
    np.testing.assert_allclose(weights, [100 / 350, 100 / 50, 100 / 75, 100 / 25, 0.0])
    assert losses.class_weights("1,2,3,4,5", 5, None) == [1, 2, 3, 4, 5]
    assert losses.class_weights(None, 5, None) is None
    with pytest.raises(ValueError, match="3 weights for 5 classes"):
        losses.class_weights("1,2,3", 5, None)
    with pytest.raises(ValueError, match="expected 'balanced' or comma-separated numbers"):
        losses.class_weights("inverse", 5, None)
