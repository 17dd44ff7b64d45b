"""CifarNet preprocessing, as upstream TF-Slim does it.

Training: pad 4 pixels on each side, random crop back to the output size,
random left-right flip, random brightness (up to 63 grey levels) and contrast
(0.2-1.8). Evaluation: centre crop or pad to the output size. Both end with
per-image standardisation (zero mean, unit variance).
"""
from slim_compat import tf

PADDING = 4


def _to_float(image, use_grayscale):
    image = tf.cast(image, tf.float32)
    return tf.image.rgb_to_grayscale(image) if use_grayscale else image


def preprocess_for_train(image, height, width, padding=PADDING, add_image_summaries=True, use_grayscale=False):
    """Random crop of the padded image, flip and photometric jitter; returns standardised float32."""
    if add_image_summaries:
        tf.summary.image("image", tf.expand_dims(image, 0))
    image = _to_float(image, use_grayscale)
    if padding > 0:
        image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
    image = tf.random_crop(image, [height, width, image.shape[-1]])
    image = tf.image.random_flip_left_right(image)
    if add_image_summaries:
        tf.summary.image("distorted_image", tf.expand_dims(image, 0))
    image = tf.image.random_brightness(image, max_delta=63)
    image = tf.image.random_contrast(image, lower=0.2, upper=1.8)
    return tf.image.per_image_standardization(image)


def preprocess_for_eval(image, height, width, add_image_summaries=True, use_grayscale=False):
    """Centre crop (or zero pad) to [height, width]; returns standardised float32."""
    if add_image_summaries:
        tf.summary.image("image", tf.expand_dims(image, 0))
    image = tf.image.resize_image_with_crop_or_pad(_to_float(image, use_grayscale), height, width)
    return tf.image.per_image_standardization(image)


def preprocess_image(image, height, width, is_training=False, add_image_summaries=True, use_grayscale=False):
    """Preprocesses one [height, width, channels] image for training or evaluation."""
    if is_training:
        return preprocess_for_train(image, height, width, add_image_summaries=add_image_summaries,
                                    use_grayscale=use_grayscale)
    return preprocess_for_eval(image, height, width, add_image_summaries=add_image_summaries,
                               use_grayscale=use_grayscale)
