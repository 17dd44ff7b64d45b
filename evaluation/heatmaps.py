"""Grad-CAM heatmaps: where in the photo the network saw evidence for the grade it predicted.

Grad-CAM (Selvaraju et al. 2017) weighs each channel of the last convolutional feature
map by the mean gradient of the predicted class's logit with respect to it, sums the
weighted channels, keeps the positive part and scales it to [0, 1]. Upsampled to the
image, it shows the regions that raised that grade's score: for a clinician, whether
the grader looked at lesions or at the camera's rim.
"""
import io
import os

import numpy as np
from PIL import Image

from slim_compat import tf
from utils import atomic_files

# The last feature map before global pooling, per network; others use the last spatial end point.
FEATURE_END_POINTS = {"inception_v3": "Mixed_7c", "inception_v4": "Mixed_7d", "inception_resnet_v2": "Conv2d_7b_1x1"}
OVERLAY_ALPHA = 0.45


def feature_map(model_name, end_points):
    """Returns the end point Grad-CAM explains: FEATURE_END_POINTS' one, else the last with height > 1.

    Raises:
      ValueError: the network has no 4-D end point with a spatial extent.
    """
    name = FEATURE_END_POINTS.get(model_name)
    if name in end_points:
        return end_points[name]
    spatial = [tensor for tensor in end_points.values()
               if tensor.shape.ndims == 4 and (tensor.shape[1] is None or tensor.shape[1] > 1)]
    if not spatial:
        raise ValueError(f"{model_name} has no spatial feature map to explain")
    return spatial[-1]


def grad_cam(logits, features, classes):
    """Returns [batch, height, width] Grad-CAM maps in [0, 1] of `classes`' logits over `features`.

    Args:
      logits: [batch, num_classes].
      features: [batch, height, width, channels], a tensor `logits` depends on.
      classes: int [batch], the class to explain per image.
    """
    chosen = tf.reduce_sum(logits * tf.one_hot(classes, tf.shape(logits)[1], dtype=logits.dtype))
    gradients = tf.gradients(chosen, features)[0]
    channel_weights = tf.reduce_mean(gradients, axis=[1, 2], keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(channel_weights * features, axis=3))
    peak = tf.reduce_max(cam, axis=[1, 2], keepdims=True)
    return tf.math.divide_no_nan(cam, peak)


def upsample(cam, size):
    """Returns a [height, width] map bilinearly resized to `size` (width, height), values kept in [0, 1]."""
    image = Image.fromarray(np.asarray(cam, dtype=np.float32), mode="F")
    return np.clip(np.asarray(image.resize(size, Image.BILINEAR)), 0.0, 1.0)


def _displayable(image):
    """Scales a preprocessed float image (any range) to uint8 for display."""
    image = np.asarray(image, dtype=np.float32)
    low, high = image.min(), image.max()
    return np.uint8(255 * (image - low) / (high - low)) if high > low else np.zeros(image.shape, np.uint8)


def _colour(heat):
    """Maps [0, 1] to a blue-green-yellow-red ramp (uint8 RGB)."""
    red = np.clip(1.5 - np.abs(4 * heat - 3), 0, 1)
    green = np.clip(1.5 - np.abs(4 * heat - 2), 0, 1)
    blue = np.clip(1.5 - np.abs(4 * heat - 1), 0, 1)
    return np.uint8(255 * np.stack([red, green, blue], axis=-1))


def overlay(image, cam):
    """Returns a PIL RGB picture: the (preprocessed) image with the Grad-CAM map blended over it."""
    photo = _displayable(image)
    heat = upsample(cam, (photo.shape[1], photo.shape[0]))
    weight = OVERLAY_ALPHA * heat[..., None]
    return Image.fromarray(np.uint8((1 - weight) * photo + weight * _colour(heat)))


def encode_png(picture):
    """Returns the PNG bytes of a PIL image."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


class HeatmapWriter:
    """Writes `DIR/IMAGE_ID_grade{g}.png` per image (atomically): the photo with its Grad-CAM overlay."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def __call__(self, filenames, images, cams, grades):
        """Writes one batch; returns True (it wants every batch)."""
        for name, image, cam, grade in zip(filenames, images, cams, grades):
            name = name.decode("utf-8") if isinstance(name, bytes) else name
            path = os.path.join(self.directory, f"{os.path.basename(name)}_grade{int(grade)}.png")
            with atomic_files.open_atomically(path, "wb") as handle:
                handle.write(encode_png(overlay(image, cam)))
        return True


class HeatmapSample:
    """Keeps the overlays of the first `count` images (for TensorBoard); wants no batch after that."""

    def __init__(self, count):
        self.count = count
        self.pictures = []

    def __call__(self, filenames, images, cams, grades):
        for name, image, cam, grade in list(zip(filenames, images, cams, grades))[:self.count - len(self.pictures)]:
            name = name.decode("utf-8") if isinstance(name, bytes) else name
            self.pictures.append((f"{name} (grade {int(grade)})", overlay(image, cam)))
        return len(self.pictures) < self.count


def image_summary(pictures, tag_prefix):
    """Returns a tf.Summary with one image per (name, PIL picture), tagged `tag_prefix/INDEX`."""
    values = [tf.Summary.Value(tag=f"{tag_prefix}/{index}", metadata=tf.SummaryMetadata(display_name=name),
                               image=tf.Summary.Image(height=picture.height, width=picture.width, colorspace=3,
                                                      encoded_image_string=encode_png(picture)))
              for index, (name, picture) in enumerate(pictures)]
    return tf.Summary(value=values)
