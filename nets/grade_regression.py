"""A one-output grade regression head next to a network's softmax.

Kaggle's 2015 DR winners regressed the grade as one number and cut it into grades at
thresholds tuned for QWK, since a grader's errors are ordinal (a grade-3 eye called 2
is a smaller error than one called 0). The head is a linear layer, its variables under
`GradeRegression/`, on the network's pooled features (`PreLogits`, as Inception has
them) or, for a network without that end point, on its logits.
"""
from slim_compat import slim, tf

SCOPE = "GradeRegression"
OUTPUT = "GradeRegression"
FEATURE_END_POINT = "PreLogits"


def add_grade_regression(logits, end_points):
    """Builds the head and returns its [batch] float32 grade estimate (also `end_points['GradeRegression']`)."""
    features = end_points.get(FEATURE_END_POINT, logits)
    if features.shape.ndims == 4:
        features = tf.reduce_mean(features, axis=[1, 2])
    grade = slim.fully_connected(features, 1, activation_fn=None, normalizer_fn=None, scope=SCOPE)
    end_points[OUTPUT] = tf.squeeze(grade, axis=1)
    return end_points[OUTPUT]
