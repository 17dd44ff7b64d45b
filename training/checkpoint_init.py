"""Warm-starting a training run from a checkpoint (e.g. the ImageNet inception_v3.ckpt)."""
from absl import logging

from slim_compat import slim, tf
from utils import checkpoint_files


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


def check_against_checkpoint(checkpoint, variables, ignore_missing_vars):
    """Returns the `variables` that `checkpoint` holds, checking their shapes.

    Raises:
      ValueError: a variable has another shape in the checkpoint, or is
        missing from it while `ignore_missing_vars` is off.
    """
    named = {variable.op.name: variable for variable in variables}
    missing, mismatched = checkpoint_files.differences(checkpoint, named)
    if mismatched:
        name, there, here = mismatched[0]
        raise ValueError(f"{checkpoint}: variable {name} has shape {there} there but {here} in the model; add its "
                         f"scope to --checkpoint_exclude_scopes (e.g. {name.rsplit('/', 1)[0]})")
    if missing and not ignore_missing_vars:
        raise ValueError(f"{checkpoint}: has no variable {missing[0]}; exclude its scope with "
                         "--checkpoint_exclude_scopes or pass --ignore_missing_vars")
    for name in missing:
        logging.warning("Variable %s is not in %s; it keeps its initial value", name, checkpoint)
    return [variable for name, variable in named.items() if name not in missing]


def check_resumable(checkpoint, variables):
    """Checks that a training directory's `checkpoint` holds every one of `variables`, in its shape.

    Raises:
      ValueError: it was written by another network, optimizer, class count or image size.
    """
    problem = checkpoint_files.describe_differences(*checkpoint_files.differences(
        checkpoint, {variable.op.name: variable for variable in variables}))
    if problem:
        raise ValueError(f"{checkpoint}: this training directory holds a checkpoint of another model or optimizer "
                         f"({problem}); train with the --model_name, --optimizer and sizes it was trained with, "
                         "or use a new --train_dir")


def get_init_fn(checkpoint_path, train_dir, exclude_scopes=None, ignore_missing_vars=False):
    """Returns `init_fn(session)` restoring the model from `checkpoint_path`, or None.

    None when there is no `checkpoint_path`, or when `train_dir` already has a
    checkpoint: then training resumes from that one instead.

    Raises:
      ValueError: missing checkpoint, or a variable missing or of another shape.
    """
    if not checkpoint_path:
        return None
    if tf.gfile.IsDirectory(train_dir) and checkpoint_files.latest_in(train_dir):
        logging.info("Ignoring --checkpoint_path because a checkpoint already exists in %s", train_dir)
        return None
    checkpoint = checkpoint_files.resolve(checkpoint_path)
    restored = check_against_checkpoint(checkpoint, variables_to_restore(exclude_scopes), ignore_missing_vars)
    logging.info("Fine-tuning from %s (%d variables)", checkpoint, len(restored))
    saver = tf.train.Saver(restored, reshape=False)
    return lambda session: saver.restore(session, checkpoint)
