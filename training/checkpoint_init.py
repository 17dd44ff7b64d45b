"""Warm-starting a training run from a checkpoint (e.g. the ImageNet inception_v3.ckpt)."""
from absl import logging

from slim_compat import slim, tf


def scopes(comma_separated):
    """Splits a comma-separated flag value into stripped scope names; None or '' gives []."""
    return [scope.strip() for scope in (comma_separated or "").split(",") if scope.strip()]


def variables_to_train(trainable_scopes):
    """Returns the trainable variables under any of `trainable_scopes` (all of them when None)."""
    if not scopes(trainable_scopes):
        return tf.trainable_variables()
    return [variable for scope in scopes(trainable_scopes)
            for variable in tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope)]


def variables_to_restore(exclude_scopes):
    """Returns the model variables whose names start with none of `exclude_scopes`."""
    excluded = scopes(exclude_scopes)
    return [variable for variable in slim.get_model_variables()
            if not any(variable.op.name.startswith(scope) for scope in excluded)]


def resolve_checkpoint(checkpoint_path):
    """Returns the checkpoint file for a file or directory path.

    Raises:
      ValueError: nothing restorable at `checkpoint_path`.
    """
    path = tf.train.latest_checkpoint(checkpoint_path) if tf.gfile.IsDirectory(checkpoint_path) else checkpoint_path
    if not path or not tf.train.checkpoint_exists(path):
        raise ValueError(f"{checkpoint_path}: no checkpoint found (expected e.g. inception_v3.ckpt or a train_dir)")
    return path


def check_against_checkpoint(checkpoint, variables, ignore_missing_vars):
    """Returns the `variables` that `checkpoint` holds, checking their shapes.

    Raises:
      ValueError: a variable has another shape in the checkpoint, or is
        missing from it while `ignore_missing_vars` is off.
    """
    shapes = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
    present = []
    for variable in variables:
        name = variable.op.name
        if name not in shapes:
            if ignore_missing_vars:
                logging.warning("Variable %s is not in %s; it keeps its initial value", name, checkpoint)
                continue
            raise ValueError(f"{checkpoint}: has no variable {name}; exclude its scope with "
                             "--checkpoint_exclude_scopes or pass --ignore_missing_vars")
        model_shape = variable.shape.as_list()
        if list(shapes[name]) != model_shape:
            scope = name.rsplit("/", 1)[0]
            raise ValueError(f"{checkpoint}: variable {name} has shape {list(shapes[name])} there but "
                             f"{model_shape} in the model; add its scope to --checkpoint_exclude_scopes "
                             f"(e.g. {scope})")
        present.append(variable)
    return present


def get_init_fn(checkpoint_path, train_dir, exclude_scopes=None, ignore_missing_vars=False):
    """Returns `init_fn(session)` restoring the model from `checkpoint_path`, or None.

    None when there is no `checkpoint_path`, or when `train_dir` already has a
    checkpoint: then training resumes from that one instead.

    Raises:
      ValueError: missing checkpoint, or a variable missing or of another shape.
    """
    if not checkpoint_path:
        return None
    if tf.train.latest_checkpoint(train_dir):
        logging.info("Ignoring --checkpoint_path because a checkpoint already exists in %s", train_dir)
        return None
    checkpoint = resolve_checkpoint(checkpoint_path)
    restored = check_against_checkpoint(checkpoint, variables_to_restore(exclude_scopes), ignore_missing_vars)
    logging.info("Fine-tuning from %s (%d variables)", checkpoint, len(restored))
    saver = tf.train.Saver(restored, reshape=False)
    return lambda session: saver.restore(session, checkpoint)
