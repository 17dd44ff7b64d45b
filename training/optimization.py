"""Learning-rate schedules and optimizers, chosen by name as upstream's flags do."""
from slim_compat import tf

OPTIMIZERS = ("adadelta", "adagrad", "adam", "ftrl", "momentum", "sgd", "rmsprop")
DECAY_TYPES = ("fixed", "exponential", "polynomial")


def check_decay_type(decay_type):
    """Raises ValueError unless `decay_type` is one of DECAY_TYPES."""
    if decay_type not in DECAY_TYPES:
        raise ValueError(f"learning_rate_decay_type [{decay_type}] was not recognized; "
                         f"use one of {', '.join(DECAY_TYPES)}")


def check_optimizer_name(name):
    """Raises ValueError unless `name` is one of OPTIMIZERS."""
    if name not in OPTIMIZERS:
        raise ValueError(f"Optimizer [{name}] was not recognized; use one of {', '.join(OPTIMIZERS)}")


def decay_steps(num_samples_per_epoch, num_epochs_per_decay, batch_size, replicas_to_aggregate=1,
                sync_replicas=False):
    """Returns the steps between decays: `num_epochs_per_decay` epochs of batches of one clone."""
    steps = int(num_samples_per_epoch * num_epochs_per_decay / batch_size)
    if sync_replicas:
        steps //= replicas_to_aggregate
    return max(1, steps)


def learning_rate(decay_type, initial_rate, global_step, steps_per_decay, decay_factor=0.94,
                  end_learning_rate=0.0001):
    """Returns the learning-rate tensor.

    Args:
      decay_type: `fixed`, `exponential` (staircase, times `decay_factor` every
        `steps_per_decay`) or `polynomial` (linear to `end_learning_rate` over `steps_per_decay`).
      initial_rate: learning rate at step 0.
      global_step: the global step tensor.
      steps_per_decay: from `decay_steps`.

    Raises:
      ValueError: unknown decay type.
    """
    check_decay_type(decay_type)
    if decay_type == "fixed":
        return tf.constant(initial_rate, name="fixed_learning_rate")
    if decay_type == "exponential":
        return tf.train.exponential_decay(initial_rate, global_step, steps_per_decay, decay_factor,
                                          staircase=True, name="exponential_decay_learning_rate")
    return tf.train.polynomial_decay(initial_rate, global_step, steps_per_decay, end_learning_rate,
                                     power=1.0, cycle=False, name="polynomial_decay_learning_rate")


def optimizer(name, rate, flags):
    """Returns the optimizer `name` with its hyper-parameters read from `flags`.

    Args:
      name: one of OPTIMIZERS.
      rate: learning-rate tensor or float.
      flags: object with upstream's optimizer flags as attributes (opt_epsilon,
        adadelta_rho, adam_beta1, ..., rmsprop_decay).

    Raises:
      ValueError: unknown optimizer.
    """
    builders = {
        "adadelta": lambda: tf.train.AdadeltaOptimizer(rate, rho=flags.adadelta_rho, epsilon=flags.opt_epsilon),
        "adagrad": lambda: tf.train.AdagradOptimizer(
            rate, initial_accumulator_value=flags.adagrad_initial_accumulator_value),
        "adam": lambda: tf.train.AdamOptimizer(rate, beta1=flags.adam_beta1, beta2=flags.adam_beta2,
                                               epsilon=flags.opt_epsilon),
        "ftrl": lambda: tf.train.FtrlOptimizer(
            rate, learning_rate_power=flags.ftrl_learning_rate_power,
            initial_accumulator_value=flags.ftrl_initial_accumulator_value,
            l1_regularization_strength=flags.ftrl_l1, l2_regularization_strength=flags.ftrl_l2),
        "momentum": lambda: tf.train.MomentumOptimizer(rate, momentum=flags.momentum, name="Momentum"),
        "sgd": lambda: tf.train.GradientDescentOptimizer(rate),
        "rmsprop": lambda: tf.train.RMSPropOptimizer(rate, decay=flags.rmsprop_decay,
                                                     momentum=flags.rmsprop_momentum, epsilon=flags.opt_epsilon),
    }
    check_optimizer_name(name)
    return builders[name]()
