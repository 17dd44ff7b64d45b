"""Training losses: softmax cross-entropy on the logits (and AuxLogits) and an optional grade regression,
optionally class-weighted."""
from absl import logging

from slim_compat import tf

AUX_LOSS_WEIGHT = 0.4


def class_weights(spec, num_classes, count_labels):
    """Returns one loss weight per class, or None for unweighted.

    Args:
      spec: None/'' (unweighted), 'balanced' (total / (classes * count), so every
        class contributes equally; a class with no examples gets 0), or a
        comma-separated list with one weight per class.
      num_classes: number of classes of the logits.
      count_labels: callable returning the split's per-class counts; called only for 'balanced'.

    Raises:
      ValueError: a list of the wrong length, or with a non-number or a negative weight.
    """
    if not spec:
        return None
    if spec == "balanced":
        counts = count_labels()
        total = sum(counts)
        weights = [total / (num_classes * count) if count else 0.0 for count in counts]
        logging.info("Balanced class weights from label counts %s: %s", counts,
                     ", ".join(f"{weight:.3f}" for weight in weights))
        return weights
    try:
        weights = [float(weight) for weight in spec.split(",")]
    except ValueError:
        raise ValueError(f"--class_weights={spec}: expected 'balanced' or comma-separated numbers") from None
    if len(weights) != num_classes:
        raise ValueError(f"--class_weights={spec}: {len(weights)} weights for {num_classes} classes")
    if any(weight < 0 for weight in weights):
        raise ValueError(f"--class_weights={spec}: weights must not be negative")
    return weights


def _example_weights(weights, labels):
    """Returns each example's loss weight from per-class `weights` (1.0 when None)."""
    return 1.0 if weights is None else tf.gather(tf.constant(weights, tf.float32), labels)


def add_classification_losses(logits, end_points, labels, num_classes, label_smoothing=0.0, weights=None):
    """Adds the cross-entropy losses to tf.GraphKeys.LOSSES, as upstream does, and returns the main one.

    The main loss is on `logits`; when the network has `AuxLogits`, a second
    one on them weighs 0.4. With `weights` (one per class) each example's loss
    is scaled by its class's weight and the sum divided by the batch size.

    Args:
      logits: [batch, num_classes].
      end_points: the network's end points.
      labels: int [batch] class ids.
      num_classes: number of classes.
      label_smoothing: upstream's label smoothing.
      weights: None or a list of `num_classes` floats.
    """
    onehot = tf.one_hot(labels, num_classes)
    example_weights = _example_weights(weights, labels)
    if "AuxLogits" in end_points:
        tf.losses.softmax_cross_entropy(onehot, end_points["AuxLogits"], label_smoothing=label_smoothing,
                                        weights=AUX_LOSS_WEIGHT * example_weights, scope="aux_loss")
    return tf.losses.softmax_cross_entropy(onehot, logits, label_smoothing=label_smoothing,
                                           weights=example_weights)


REGRESSION_LOSSES = ("squared", "smooth_l1")


def check_regression_loss(name):
    """Raises ValueError unless `name` is empty (no regression head) or one of REGRESSION_LOSSES."""
    if name and name not in REGRESSION_LOSSES:
        raise ValueError(f"--regression_loss={name}: expected one of {', '.join(REGRESSION_LOSSES)}")


def add_regression_loss(grade_estimate, labels, name, weights=None):
    """Adds the loss of a grade regression output to tf.GraphKeys.LOSSES and returns it.

    Args:
      grade_estimate: float [batch] predicted grade.
      labels: int [batch] true grades.
      name: 'squared' (mean squared error) or 'smooth_l1' (Huber loss with delta 1: squared
        within one grade, linear beyond, so a far-off outlier pulls less).
      weights: None or one weight per class, scaling each example's loss as for the softmax.
    """
    check_regression_loss(name)
    targets = tf.cast(labels, tf.float32)
    example_weights = _example_weights(weights, labels)
    if name == "squared":
        return tf.losses.mean_squared_error(targets, grade_estimate, weights=example_weights, scope="regression_loss")
    return tf.losses.huber_loss(targets, grade_estimate, weights=example_weights, delta=1.0, scope="regression_loss")
