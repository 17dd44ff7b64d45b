"""Inception-style preprocessing, as upstream TF-Slim does it.

Training: a random crop covering 5-100 % of the image (aspect 3/4..4/3),
resize, random left-right flip and colour distortion. Evaluation: central crop
of 87.5 % and resize. Both scale pixels to [-1, 1].
"""
from slim_compat import tf

EVAL_CENTRAL_FRACTION = 0.875


def to_unit_float(image):
    """Converts an image of any dtype to float32 in [0, 1]."""
    return tf.image.convert_image_dtype(image, tf.float32)


def to_symmetric_range(image):
    """Maps [0, 1] to [-1, 1], the range the Inception checkpoints were trained on."""
    return (image - 0.5) * 2.0


def distort_color(image, color_ordering=0, fast_mode=True):
    """Randomly changes brightness and saturation (plus hue and contrast unless `fast_mode`).

    Args:
      image: float image in [0, 1].
      color_ordering: 0-3, which order to apply the four distortions in (ignored in fast mode).
      fast_mode: only brightness then saturation, the cheap ones.

    Returns:
      The distorted image, clipped to [0, 1].
    """
    brightness = lambda x: tf.image.random_brightness(x, max_delta=32.0 / 255.0)
    saturation = lambda x: tf.image.random_saturation(x, lower=0.5, upper=1.5)
    hue = lambda x: tf.image.random_hue(x, max_delta=0.2)
    contrast = lambda x: tf.image.random_contrast(x, lower=0.5, upper=1.5)
    if fast_mode:
        steps = [brightness, saturation]
    else:
        steps = {
            0: [brightness, saturation, hue, contrast],
            1: [saturation, brightness, contrast, hue],
            2: [contrast, hue, brightness, saturation],
            3: [hue, saturation, contrast, brightness],
        }[color_ordering]
    for step in steps:
        image = step(image)
    return tf.clip_by_value(image, 0.0, 1.0)


def distorted_bounding_box_crop(image, bbox, min_object_covered=0.1, aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0), max_attempts=100):
    """Returns (random crop of `image` that covers part of `bbox`, the crop's box)."""
    # v2's function builds the op v1's did (unseeded: seed 0, seed2 0) without v1's deprecation notice.
    begin, size, crop_box = tf.compat.v2.image.sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=bbox, min_object_covered=min_object_covered,
        aspect_ratio_range=aspect_ratio_range, area_range=area_range, max_attempts=max_attempts,
        use_image_if_no_bounding_boxes=True)
    return tf.slice(image, begin, size), crop_box


def _apply_with_random_choice(image, function, num_cases):
    """Applies `function(image, case)` for one random case in [0, num_cases)."""
    case = tf.random.uniform([], maxval=num_cases, dtype=tf.int32)
    branches = {index: (lambda index=index: function(image, index)) for index in range(num_cases)}
    return tf.switch_case(case, branches)


def preprocess_for_train(image, height, width, bbox=None, fast_mode=True, add_image_summaries=True,
                         random_crop=True):
    """Distorts one image for training.

    Args:
      image: 3-D image, uint8 or float in [0, 1].
      height, width: output size.
      bbox: [1, num_boxes, 4] boxes (ymin, xmin, ymax, xmax) to keep partly in the crop;
        None means the whole image.
      fast_mode: one resize method and two colour distortions instead of four of each.
      add_image_summaries: add image summaries of each stage.
      random_crop: whether to crop at random before resizing.

    Returns:
      A float32 [height, width, 3] image in [-1, 1].
    """
    image = to_unit_float(image)
    if bbox is None:
        bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32, shape=[1, 1, 4])
    if add_image_summaries:
        tf.summary.image("image_with_bounding_boxes",
                         tf.image.draw_bounding_boxes(tf.expand_dims(image, 0), bbox))
    if random_crop:
        cropped, crop_box = distorted_bounding_box_crop(image, bbox)
        if add_image_summaries:
            tf.summary.image("images_with_distorted_bounding_box",
                             tf.image.draw_bounding_boxes(tf.expand_dims(image, 0), crop_box))
    else:
        cropped = image
    num_resize_methods = 1 if fast_mode else 4
    resized = _apply_with_random_choice(
        cropped, lambda x, method: tf.image.resize_images(x, [height, width], method=method), num_resize_methods)
    resized.set_shape([height, width, 3])
    if add_image_summaries:
        tf.summary.image("cropped_resized_image", tf.expand_dims(resized, 0))
    distorted = tf.image.random_flip_left_right(resized)
    num_orderings = 1 if fast_mode else 4
    distorted = _apply_with_random_choice(
        distorted, lambda x, ordering: distort_color(x, ordering, fast_mode), num_orderings)
    if add_image_summaries:
        tf.summary.image("final_distorted_image", tf.expand_dims(distorted, 0))
    return to_symmetric_range(distorted)


def preprocess_for_eval(image, height, width, central_fraction=EVAL_CENTRAL_FRACTION, central_crop=True):
    """Central crop and bilinear resize for evaluation; returns float32 [height, width, 3] in [-1, 1]."""
    image = to_unit_float(image)
    if central_crop and central_fraction:
        image = tf.image.central_crop(image, central_fraction=central_fraction)
    image = tf.image.resize_images(image, [height, width], method=tf.image.ResizeMethod.BILINEAR)
    image.set_shape([height, width, 3])
    return to_symmetric_range(image)


def preprocess_image(image, height, width, is_training=False, bbox=None, fast_mode=True,
                     add_image_summaries=True, random_crop=True, central_crop=True):
    """Preprocesses one image for training (distortions) or evaluation (central crop)."""
    if is_training:
        return preprocess_for_train(image, height, width, bbox, fast_mode, add_image_summaries, random_crop)
    return preprocess_for_eval(image, height, width, central_crop=central_crop)
