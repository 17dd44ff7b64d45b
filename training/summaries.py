"""TensorBoard summaries of a training run, as upstream adds them, plus training accuracy."""
from slim_compat import slim, tf

MAX_IMAGES = 4


def add_model_summaries(end_points, images, labels, clone_scope):
    """Summarises the first clone: input images, activations, sparsity and batch accuracy."""
    tf.summary.image("images", images, max_outputs=MAX_IMAGES)
    for name, activation in end_points.items():
        tf.summary.histogram(f"activations/{name}", activation)
        tf.summary.scalar(f"sparsity/{name}", tf.nn.zero_fraction(activation))
    predicted = tf.argmax(end_points["Predictions"], axis=1)
    tf.summary.scalar("accuracy/training_batch", tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float32)))
    for loss in tf.get_collection(tf.GraphKeys.LOSSES, clone_scope):
        tf.summary.scalar(f"losses/{loss.op.name}", loss)


def add_variable_summaries():
    """A histogram of every model variable."""
    for variable in slim.get_model_variables():
        tf.summary.histogram(variable.op.name, variable)
