"""VGG/ResNet preprocessing, as upstream TF-Slim does it.

Training: resize the shorter side to a random length in [256, 512], random
crop, random left-right flip. Evaluation: resize the shorter side to 256 and
crop the centre. Both subtract the ImageNet channel means (no scaling), which
is what the VGG and ResNet V1 checkpoints expect.
"""
from slim_compat import tf

CHANNEL_MEANS = (123.68, 116.78, 103.94)
RESIZE_SIDE_MIN = 256
RESIZE_SIDE_MAX = 512


def resize_shorter_side(image, shorter_side):
    """Resizes `image` (bilinear) so its shorter side is `shorter_side`, keeping the aspect ratio."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(shorter_side, tf.float32) / tf.reduce_min(shape)
    new_size = tf.cast(tf.round(shape * scale), tf.int32)
    resized = tf.image.resize_images(image, new_size, method=tf.image.ResizeMethod.BILINEAR)
    resized.set_shape([None, None, 3])
    return resized


def subtract_channel_means(image, means=CHANNEL_MEANS):
    """Subtracts the per-channel ImageNet means from a float image in [0, 255]."""
    return image - tf.constant(means, dtype=tf.float32)


def preprocess_for_train(image, height, width, resize_side_min=RESIZE_SIDE_MIN, resize_side_max=RESIZE_SIDE_MAX):
    """Random scale, random crop and flip; returns float32 [height, width, 3], mean-subtracted."""
    shorter_side = tf.random.uniform([], minval=resize_side_min, maxval=resize_side_max + 1, dtype=tf.int32)
    image = resize_shorter_side(tf.cast(image, tf.float32), shorter_side)
    image = tf.image.random_crop(image, [height, width, 3])
    image = tf.image.random_flip_left_right(image)
    return subtract_channel_means(image)


def preprocess_for_eval(image, height, width, resize_side=RESIZE_SIDE_MIN):
    """Shorter side to `resize_side`, central crop; returns float32 [height, width, 3], mean-subtracted."""
    image = resize_shorter_side(tf.cast(image, tf.float32), resize_side)
    image = tf.image.resize_with_crop_or_pad(image, height, width)
    image.set_shape([height, width, 3])
    return subtract_channel_means(image)


def preprocess_image(image, height, width, is_training=False, add_image_summaries=False,
                     resize_side_min=RESIZE_SIDE_MIN, resize_side_max=RESIZE_SIDE_MAX):
    """Preprocesses one image for training or evaluation.

    `add_image_summaries` is accepted so every preprocessing takes the same
    arguments; VGG preprocessing adds none, like upstream.
    """
    if is_training:
        return preprocess_for_train(image, height, width, resize_side_min, resize_side_max)
    return preprocess_for_eval(image, height, width, resize_side_min)
