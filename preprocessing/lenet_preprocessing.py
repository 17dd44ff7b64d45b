"""LeNet preprocessing, as upstream TF-Slim does it: centre crop or pad to the output size, then
map [0, 255] to [-1, 1). Training and evaluation are the same."""
from slim_compat import tf


def preprocess_image(image, height, width, is_training=False, add_image_summaries=False):
    """Preprocesses one image; `is_training` and `add_image_summaries` are accepted for a uniform signature."""
    del is_training, add_image_summaries
    image = tf.image.resize_image_with_crop_or_pad(tf.cast(image, tf.float32), height, width)
    return (image - 128.0) / 128.0
