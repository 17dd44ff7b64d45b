"""The conversion's preparation of a camera photograph, as TensorFlow ops (for the SavedModel).

data_utils.load_cropped_fundus and preprocess_fundus, step by step: the JPEG is
decoded at the same reduced DCT scale (libjpeg, accurate integer DCT, as
Pillow), the black border is cropped with the same threshold, the disc is
resized to the conversion's size by Pillow's bicubic resampling (Keys a = -0.5,
widened when reducing, fixed-point weights, horizontal pass first) and
round-tripped through JPEG quality 95, so the model sees
the pixels it would see from the TFRecords. An image that already has the
conversion's size (square) is taken as prepared and decoded as it is. PNG and
other formats are decoded whole, then cropped and resized the same way.
"""
import data_utils
from slim_compat import tf

DCT_SCALES = (1, 2, 4, 8)
CUBIC_A = -0.5
CUBIC_SUPPORT = 2.0
# Pillow's fixed-point precision for 8-bit resampling: 32 bits less 8 for the value and 2 for overflow.
FIXED_POINT_BITS = 22


def _dct_scale_keeping(length, wanted):
    """The largest scale of DCT_SCALES that leaves `length` pixels at least `wanted` (int32 tensors)."""
    scale = tf.constant(1)
    for candidate in DCT_SCALES[1:]:
        scale = tf.where(length // candidate >= wanted, candidate, scale)
    return scale


def _decode_jpeg_at_scale(image_bytes, scale):
    """Decodes RGB at 1/`scale` of the size (a scalar int32 tensor of DCT_SCALES)."""
    branches = [lambda ratio=ratio: tf.io.decode_jpeg(image_bytes, channels=3, ratio=ratio,
                                                       dct_method="INTEGER_ACCURATE")
                for ratio in DCT_SCALES]
    index = tf.reduce_sum(tf.cast(scale >= tf.constant(DCT_SCALES[1:]), tf.int32))
    return tf.switch_case(index, branches)


def black_border_box(pixels, threshold):
    """data_utils.black_border_box in TensorFlow: [top, bottom, left, right]; the whole image if all dark."""
    brightest = tf.reduce_max(pixels, axis=2)
    rows = tf.where(tf.reduce_max(brightest, axis=1) > threshold)[:, 0]
    columns = tf.where(tf.reduce_max(brightest, axis=0) > threshold)[:, 0]
    shape = tf.shape(pixels, out_type=tf.int64)
    return tf.cond(tf.size(rows) > 0,
                   lambda: tf.stack([rows[0], rows[-1] + 1, columns[0], columns[-1] + 1]),
                   lambda: tf.stack([tf.constant(0, tf.int64), shape[0], tf.constant(0, tf.int64), shape[1]]))


def _crop(pixels, box):
    return pixels[box[0]:box[1], box[2]:box[3]]


def _cropped_jpeg(image_bytes, image_size, crop_threshold):
    """load_cropped_fundus: reduced decode, crop, and a finer decode when the disc needs one."""
    wanted = data_utils.MIN_DECODE_FACTOR * image_size
    frame = tf.cast(tf.image.extract_jpeg_shape(image_bytes), tf.int32)
    scale = _dct_scale_keeping(tf.minimum(frame[0], frame[1]), wanted)
    pixels = _decode_jpeg_at_scale(image_bytes, scale)
    box = tf.cast(black_border_box(pixels, crop_threshold), tf.int32)
    disc_scale = _dct_scale_keeping(tf.minimum(box[1] - box[0], box[3] - box[2]) * scale, wanted)
    return tf.cond(disc_scale < scale,
                   lambda: _crop_black_border(_decode_jpeg_at_scale(image_bytes, disc_scale), crop_threshold),
                   lambda: _crop(pixels, box))


def _crop_black_border(pixels, crop_threshold):
    return _crop(pixels, black_border_box(pixels, crop_threshold))


def _keys_cubic(x):
    """The bicubic convolution kernel with a = -0.5 (Keys 1981), as Pillow's BICUBIC filter."""
    x = tf.abs(x)
    near = ((CUBIC_A + 2.0) * x - (CUBIC_A + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * CUBIC_A
    return tf.where(x < 1.0, near, tf.where(x < 2.0, far, tf.zeros_like(x)))


def _resampling_taps(in_size, out_size):
    """Pillow's resampling taps along one axis: (input indices [out_size, taps], fixed-point weights).

    Each output pixel's centre is mapped into the input; the filter is widened by the
    reduction factor (antialiasing), its weights normalised to sum 1 and rounded to
    integers of FIXED_POINT_BITS bits, as Pillow does for 8-bit images.
    """
    scale = tf.cast(in_size, tf.float64) / out_size
    filter_scale = tf.maximum(scale, 1.0)
    support = CUBIC_SUPPORT * filter_scale
    taps = tf.cast(tf.math.ceil(support), tf.int32) * 2 + 1
    centres = (tf.range(out_size, dtype=tf.float64) + 0.5) * scale
    # Casting to an integer truncates towards zero, as C's (int) does.
    first = tf.maximum(tf.cast(centres - support + 0.5, tf.int32), 0)
    end = tf.minimum(tf.cast(centres + support + 0.5, tf.int32), in_size)
    indices = first[:, None] + tf.range(taps)[None, :]
    weights = _keys_cubic((tf.cast(indices, tf.float64) - centres[:, None] + 0.5) / filter_scale)
    weights = tf.where(indices < end[:, None], weights, tf.zeros_like(weights))
    weights = tf.math.divide_no_nan(weights, tf.reduce_sum(weights, axis=1, keepdims=True))
    scaled = weights * 2.0 ** FIXED_POINT_BITS
    fixed = tf.cast(tf.where(weights < 0, scaled - 0.5, scaled + 0.5), tf.int64)
    return tf.minimum(indices, in_size - 1), tf.cast(fixed, tf.float64)


def _resample_axis(pixels, out_size, axis):
    """Resamples a float64 [height, width, channels] image of 8-bit values along `axis` (0 or 1), rounded to 8 bits."""
    indices, weights = _resampling_taps(tf.shape(pixels)[axis], out_size)
    gathered = tf.gather(pixels, indices, axis=axis)
    weights = weights[None, :, :, None] if axis == 1 else weights[:, :, None, None]
    # Integer sums, exact in float64; then Pillow's rounding shift and clip to 0..255.
    sums = tf.reduce_sum(gathered * weights, axis=axis + 1)
    return tf.clip_by_value(tf.floor((sums + 2.0 ** (FIXED_POINT_BITS - 1)) / 2.0 ** FIXED_POINT_BITS), 0.0, 255.0)


def resize_bicubic(pixels, image_size):
    """data_utils.resize_bicubic in TensorFlow: Pillow's 8-bit bicubic resampling, horizontal pass first."""
    image = tf.cast(pixels, tf.float64)
    return tf.cast(_resample_axis(_resample_axis(image, image_size, axis=1), image_size, axis=0), tf.uint8)


def _resized_as_saved(disc, image_size):
    """Bicubic resize to image_size x image_size, then the conversion's JPEG (quality 95) and back."""
    resized = resize_bicubic(disc, image_size)
    return tf.io.decode_jpeg(tf.io.encode_jpeg(resized, quality=data_utils.JPEG_QUALITY), channels=3)


def _decoded(image_bytes):
    return tf.io.decode_image(image_bytes, channels=3, expand_animations=False)


def prepared_image(image_bytes, image_size, crop_threshold=data_utils.DEFAULT_CROP_THRESHOLD):
    """Returns the uint8 [image_size, image_size, 3] image that the conversion makes of `image_bytes`.

    Args:
      image_bytes: a scalar string tensor, one encoded JPEG or PNG (or BMP, GIF) file.
      image_size: the conversion's --image_size.
      crop_threshold: the conversion's --crop_threshold.
    """
    def is_prepared(shape):
        return tf.reduce_all(tf.equal(shape[:2], image_size))

    def from_jpeg():
        return tf.cond(is_prepared(tf.image.extract_jpeg_shape(image_bytes)), lambda: _decoded(image_bytes),
                       lambda: _resized_as_saved(_cropped_jpeg(image_bytes, image_size, crop_threshold),
                                                 image_size))

    def from_other():
        pixels = _decoded(image_bytes)
        return tf.cond(is_prepared(tf.shape(pixels)), lambda: pixels,
                       lambda: _resized_as_saved(_crop_black_border(pixels, crop_threshold), image_size))

    image = tf.cond(tf.io.is_jpeg(image_bytes), from_jpeg, from_other)
    return tf.ensure_shape(image, [image_size, image_size, 3])
