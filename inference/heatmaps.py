"""Grad-CAM heatmaps: where in the photo the network saw evidence for the grade it predicted.

Grad-CAM (Selvaraju et al. 2017) weighs each channel of a convolutional feature map by
the mean gradient of the predicted class's logit with respect to it, sums the weighted
channels, keeps the positive part and scales it to [0, 1]. Upsampled to the image, it
shows the regions that raised that grade's score: for a clinician, whether the grader
looked at lesions or at the camera's rim.

The map is taken at the deepest end point that is still at least MIN_CAM_SIDE pixels on
each side at the evaluated size (feature_map): the last one before global pooling is
2x2 for Inception V3 at 128 px, too coarse to point at anything (at 299 px it is 8x8
and is the one taken). The upsampled map is then kept to the fundus disc (disc_mask), so
the black around it (and a date stamp in a corner) never lights up.
"""
import io
import os

import numpy as np
from PIL import Image

from fundus import disc as fundus_disc
from fundus.preparation import DEFAULT_CROP_THRESHOLD
from slim_compat import tf
from utils import atomic_files

MIN_CAM_SIDE = 8
OVERLAY_ALPHA = 0.45


def feature_map(end_points):
    """Returns the end point Grad-CAM explains: the last (deepest) 4-D one at least MIN_CAM_SIDE on each side,
    else the one with the largest sides (the last of those).

    Raises:
      ValueError: the network has no 4-D end point of a known size.
    """
    sized = [(min(tensor.shape.as_list()[1:3]), index, tensor) for index, tensor in enumerate(end_points.values())
             if tensor.shape.ndims == 4 and None not in tensor.shape.as_list()[1:3]]
    if not sized:
        raise ValueError("the network has no feature map of a known size to explain")
    large = [entry for entry in sized if entry[0] >= MIN_CAM_SIDE]
    return max(large, key=lambda entry: entry[1])[2] if large else max(sized, key=lambda entry: entry[:2])[2]


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


def displayable(image):
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


def disc_mask(photo):
    """Boolean [size, size]: the fundus disc of a displayable square photo as prepared for the network: the
    square's inscribed circle (the conversion crops the disc's square, fundus.disc), less the rows and columns
    without fundus (black beyond a frame that clipped the disc)."""
    bright = fundus_disc.brightest_channel(photo) > DEFAULT_CROP_THRESHOLD
    return fundus_disc.disc_region(photo.shape[0], 1.0, bright.any(axis=1), bright.any(axis=0))


def disc_heat(photo, cam):
    """Returns the Grad-CAM map upsampled to a displayable photo, zero off its disc, peak 1 on it."""
    heat = upsample(cam, (photo.shape[1], photo.shape[0])) * disc_mask(photo)
    peak = heat.max()
    return heat / peak if peak > 0 else heat


def overlay(image, cam):
    """Returns a PIL RGB picture: the (preprocessed) image with the Grad-CAM map, kept to the disc, over it."""
    photo = displayable(image)
    heat = disc_heat(photo, cam)
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
