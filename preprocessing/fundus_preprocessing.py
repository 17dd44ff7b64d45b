"""Label-preserving augmentation for fundus photographs.

A retina has no canonical orientation in a fundus photo (cameras and eyes
differ, some Kaggle images are inverted), so any rotation and both flips keep
the grade. Upstream's Inception crop can keep as little as 5 % of the image and
cut away the few microaneurysms that make the grade, so there is no crop here:
training rotates, flips and slightly changes brightness/saturation/contrast of
the whole image; evaluation only resizes it, keeping the whole disc. The
images written by the prepare stage are already cropped to the disc.
"""
import math

from slim_compat import tf

from preprocessing.inception_preprocessing import to_symmetric_range, to_unit_float


def rotate(image, angle):
    """Rotates a [height, width, channels] float image by `angle` radians about its centre.

    Pixels rotated in from outside the image are black, like a fundus photo's
    background, so a disc inscribed in the frame stays whole.
    """
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # The projective transform maps each output pixel (x, y) back to the input
    # pixel it takes its value from: an inverse rotation about the centre.
    center_x, center_y = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    offset_x = center_x - cos * center_x + sin * center_y
    offset_y = center_y - sin * center_x - cos * center_y
    transform = tf.stack([cos, -sin, offset_x, sin, cos, offset_y, 0.0, 0.0])
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.expand_dims(image, 0), transforms=tf.expand_dims(transform, 0),
        output_shape=tf.shape(image)[:2], fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.reshape(rotated[0], tf.shape(image))


def resize_whole(image, height, width):
    """Resizes the whole image (bilinear) to [height, width, 3]."""
    image = tf.image.resize_images(image, [height, width], method=tf.image.ResizeMethod.BILINEAR)
    image.set_shape([height, width, 3])
    return image


def preprocess_for_train(image, height, width, max_brightness_delta=0.1, saturation_range=(0.8, 1.2),
                         contrast_range=(0.8, 1.2)):
    """Random rotation, flips and mild colour jitter; returns float32 [height, width, 3] in [-1, 1]."""
    image = resize_whole(to_unit_float(image), height, width)
    image = rotate(image, tf.random.uniform([], 0.0, 2.0 * math.pi))
    image = tf.image.random_flip_left_right(image)
    image = tf.image.random_flip_up_down(image)
    image = tf.image.random_brightness(image, max_brightness_delta)
    image = tf.image.random_saturation(image, *saturation_range)
    image = tf.image.random_contrast(image, *contrast_range)
    return to_symmetric_range(tf.clip_by_value(image, 0.0, 1.0))


def preprocess_for_eval(image, height, width):
    """Resizes the whole image; returns float32 [height, width, 3] in [-1, 1]."""
    return to_symmetric_range(resize_whole(to_unit_float(image), height, width))


def preprocess_image(image, height, width, is_training=False, add_image_summaries=False):
    """Preprocesses one fundus image; `add_image_summaries` is accepted for a uniform signature."""
    if is_training:
        return preprocess_for_train(image, height, width)
    return preprocess_for_eval(image, height, width)
