"""The conversion's preparation of a camera photograph, as TensorFlow ops (for the SavedModel).

fundus_preparation.load_cropped_fundus and preprocess_fundus, step by step: the JPEG is
decoded at the same reduced DCT scale (libjpeg, accurate integer DCT, as
Pillow), the disc is found as the same circle (fundus.disc, whose sums are exact)
and cropped to its square, or the black border is cropped with the same
threshold (crop mode "book"), the crop is resized to the conversion's size by
Pillow's bicubic resampling (Keys a = -0.5, widened when reducing, fixed-point
weights, horizontal pass first), Graham-normalised when the conversion was
(its blur is Pillow's GaussianBlur: three fixed-point box blurs per axis, so the
pixels are the same) and round-tripped through JPEG quality 95, so the
model sees the pixels it would see from the TFRecords. The gradability measures
(fundus.quality) are taken on the same square at the same size. An image that
already has the conversion's size (square) is taken as prepared and decoded as it
is. PNG and other formats are decoded whole, then cropped and resized the same way.
"""
import numpy as np

from fundus import preparation as fundus_preparation
from fundus import disc as fundus_disc
from fundus import quality as fundus_quality
from slim_compat import tf

DCT_SCALES = (1, 2, 4, 8)
CUBIC_A = -0.5
CUBIC_SUPPORT = 2.0
# Pillow's fixed-point precision for 8-bit resampling: 32 bits less 8 for the value and 2 for overflow.
FIXED_POINT_BITS = 22
# Pillow's GaussianBlur: this many box blurs along each axis, their weights of this many bits.
BOX_BLUR_PASSES = 3
BOX_BLUR_BITS = 24
# The names of `quality`'s measures, in order.
QUALITY_OUTPUTS = ("gradable",) + fundus_quality.MEASURES


def _dct_scale_keeping(length, wanted):
    """The largest scale of DCT_SCALES that leaves `length` pixels at least `wanted` (int32 tensors)."""
    scale = tf.constant(1)
    for candidate in DCT_SCALES[1:]:
        scale = tf.where_v2(length // candidate >= wanted, candidate, scale)
    return scale


def _decode_jpeg_at_scale(image_bytes, scale):
    """Decodes RGB at 1/`scale` of the size (a scalar int32 tensor of DCT_SCALES)."""
    branches = [lambda ratio=ratio: tf.io.decode_jpeg(image_bytes, channels=3, ratio=ratio,
                                                       dct_method="INTEGER_ACCURATE")
                for ratio in DCT_SCALES]
    index = tf.reduce_sum(tf.cast(scale >= tf.constant(DCT_SCALES[1:]), tf.int32))
    return tf.switch_case(index, branches)


def black_border_box(pixels, threshold):
    """fundus_preparation.black_border_box in TensorFlow: [top, bottom, left, right]; the whole image if all dark."""
    brightest = tf.reduce_max(pixels, axis=2)
    rows = tf.where_v2(tf.reduce_max(brightest, axis=1) > threshold)[:, 0]
    columns = tf.where_v2(tf.reduce_max(brightest, axis=0) > threshold)[:, 0]
    shape = tf.shape(pixels, out_type=tf.int64)
    return tf.cond(tf.size(rows) > 0,
                   lambda: tf.stack([rows[0], rows[-1] + 1, columns[0], columns[-1] + 1]),
                   lambda: tf.stack([tf.constant(0, tf.int64), shape[0], tf.constant(0, tf.int64), shape[1]]))


def _crop(pixels, box):
    return pixels[box[0]:box[1], box[2]:box[3]]


def _crop_black_border(pixels, crop_threshold):
    return _crop(pixels, black_border_box(pixels, crop_threshold))


def _edge_points(bright):
    """fundus.disc.edge_points: float64 (x, y) of the disc's edge in a boolean mask, off the frame's border."""
    shape = tf.shape(bright)
    height, width = shape[0], shape[1]
    columns, rows = tf.range(width), tf.range(height)
    row_has, column_has = tf.reduce_any(bright, axis=1), tf.reduce_any(bright, axis=0)
    first_column = tf.reduce_min(tf.where_v2(bright, columns[None, :], width), axis=1)
    last_column = tf.reduce_max(tf.where_v2(bright, columns[None, :], -1), axis=1)
    first_row = tf.reduce_min(tf.where_v2(bright, rows[:, None], height), axis=0)
    last_row = tf.reduce_max(tf.where_v2(bright, rows[:, None], -1), axis=0)
    keep = tf.reshape(tf.concat([row_has & (first_column > 0), row_has & (last_column < width - 1),
                                 column_has & (first_row > 0), column_has & (last_row < height - 1)], axis=0), [-1])
    as_float = lambda values: tf.cast(values, tf.float64)  # noqa: E731
    x = tf.concat([as_float(first_column) - 0.5, as_float(last_column) + 0.5, as_float(columns), as_float(columns)], 0)
    y = tf.concat([as_float(rows), as_float(rows), as_float(first_row) - 0.5, as_float(last_row) + 0.5], 0)
    return tf.boolean_mask(x, keep), tf.boolean_mask(y, keep)


def find_disc(pixels, threshold):
    """fundus.disc.find_disc in TensorFlow: a fundus.disc.Disc of float64 (and bool) scalar tensors."""
    shape = tf.shape(pixels)
    height, width = shape[0], shape[1]
    stride = tf.maximum(1, (tf.minimum(height, width) + fundus_disc.FIT_SIDE - 1) // fundus_disc.FIT_SIDE)
    bright = tf.reduce_max(pixels[::stride, ::stride], axis=2) > threshold
    bright_shape = tf.shape(bright)
    origin_x, origin_y = tf.cast(bright_shape[1] // 2, tf.float64), tf.cast(bright_shape[0] // 2, tf.float64)
    x, y = _edge_points(bright)
    x, y = x - origin_x, y - origin_y
    weights = tf.ones_like(x)
    nan = tf.constant(np.nan, tf.float64)
    centre_x = centre_y = radius = nan
    active = tf.constant(True)
    for tolerance in fundus_disc.FIT_TOLERANCES:
        active = active & (tf.reduce_sum(weights) >= fundus_disc.MIN_EDGE_POINTS)
        fitted_x, fitted_y, fitted_radius = fundus_disc.fit_circle(x, y, weights, tf.reduce_sum, tf.sqrt)
        active = active & tf.math.is_finite(fitted_radius)
        centre_x = tf.where_v2(active, fitted_x, centre_x)
        centre_y = tf.where_v2(active, fitted_y, centre_y)
        radius = tf.where_v2(active, fitted_radius, radius)
        distance = tf.sqrt((x - centre_x) ** 2 + (y - centre_y) ** 2)
        inliers = tf.cast(tf.abs(distance - radius) <= tf.maximum(tolerance * radius, 1.0), tf.float64)
        weights = tf.where_v2(active, inliers, weights)
    size_x, size_y = tf.cast(width, tf.float64), tf.cast(height, tf.float64)
    scale = tf.cast(stride, tf.float64)
    centre_x = (centre_x + origin_x) * scale + 0.5
    centre_y = (centre_y + origin_y) * scale + 0.5
    radius = radius * scale
    count = tf.cast(tf.size(x), tf.float64)
    found = ((tf.reduce_sum(weights) >= tf.maximum(tf.constant(fundus_disc.MIN_EDGE_POINTS, tf.float64),
                                                   fundus_disc.MIN_INLIER_SHARE * count))
             & (radius >= fundus_disc.MIN_RADIUS_SHARE * tf.minimum(size_x, size_y) / 2)
             & (centre_x >= 0) & (centre_x <= size_x) & (centre_y >= 0) & (centre_y <= size_y))
    fitted = tf.math.is_finite(radius)
    return fundus_disc.Disc(tf.where_v2(fitted, centre_x, size_x / 2), tf.where_v2(fitted, centre_y, size_y / 2),
                            tf.where_v2(fitted, radius, tf.minimum(size_x, size_y) / 2), fitted & found)


def _floor_to_int(value):
    return tf.cast(tf.floor(value), tf.int32)


def square_box(disc):
    """fundus.disc.square_box in TensorFlow: int32 (top, left, side)."""
    side = tf.maximum(1, _floor_to_int(2 * disc.radius + 0.5))
    half = tf.cast(side, tf.float64) / 2
    return _floor_to_int(disc.centre_y - half + 0.5), _floor_to_int(disc.centre_x - half + 0.5), side


def crop_disc(pixels, disc):
    """preparation.load_cropped_fundus' square in TensorFlow: fundus.disc.square_box cut out, black outside the frame
    (as Pillow's crop)."""
    top, left, side = square_box(disc)
    shape = tf.shape(pixels)
    pad_top, pad_left = tf.maximum(0, -top), tf.maximum(0, -left)
    padded = tf.pad(pixels, [[pad_top, tf.maximum(0, top + side - shape[0])],
                             [pad_left, tf.maximum(0, left + side - shape[1])], [0, 0]])
    return padded[top + pad_top:top + pad_top + side, left + pad_left:left + pad_left + side]


def circle_mask(disc, size):
    """fundus.disc.circle_mask in TensorFlow."""
    top, left, side = square_box(disc)
    offsets = (tf.range(size, dtype=tf.float64) + 0.5) * (tf.cast(side, tf.float64) / size)
    dy = (tf.cast(top, tf.float64) + offsets - disc.centre_y) ** 2
    dx = (tf.cast(left, tf.float64) + offsets - disc.centre_x) ** 2
    return dy[:, None] + dx[None, :] <= disc.radius * disc.radius


def _prepared_crop(pixels, disc, crop_mode, crop_threshold, image_size, resized_square, graham=False):
    """The prepared image of a decoded photo: its disc's square when found (crop mode "disc"), else the book's box,
    with `graham` then Graham's normalisation (greyed beyond fundus_preparation.disc_mask's, as preprocess_fundus).

    `resized_square` (_resized_square's) is the disc crop's resize when it has the output's size, shared as
    fundus_preparation.prepare_fundus shares it.
    """
    share = fundus_preparation.GRAHAM_DISC_SHARE

    def book():
        return _as_saved(resize_bicubic(_crop_black_border(pixels, crop_threshold), image_size),
                         graham_disc=_disc_region(image_size, share) if graham else None)

    if crop_mode == "book":
        return book()

    def disc_crop():
        resized = (resized_square if fundus_preparation.measured_size(image_size) == image_size
                   else resize_bicubic(crop_disc(pixels, disc), image_size))
        return _as_saved(resized, _visible(pixels, disc, image_size),
                         _disc_mask(disc, tf.shape(pixels), image_size, share) if graham else None)

    return tf.cond(disc.found, disc_crop, book)


def _crop_extent(pixels, disc, crop_mode, crop_threshold):
    """fundus_preparation._crop_extent: the crop's short side at this decode (the whole image's when all dark)."""
    box = tf.cast(black_border_box(pixels, crop_threshold), tf.int32)
    book = tf.minimum(box[1] - box[0], box[3] - box[2])
    if crop_mode == "book":
        return book
    return tf.where_v2(disc.found, square_box(disc)[2], book)


def _decoded_for_crop(image_bytes, image_size, crop_threshold, crop_mode):
    """preparation._decode_for_crop: (pixels, disc) after a reduced decode, and a finer one when the crop needs it."""
    wanted = fundus_preparation.decode_target(image_size)
    frame = tf.cast(tf.image.extract_jpeg_shape(image_bytes), tf.int32)
    scale = _dct_scale_keeping(tf.minimum(frame[0], frame[1]), wanted)
    pixels = _decode_jpeg_at_scale(image_bytes, scale)
    disc = find_disc(pixels, crop_threshold)
    finer = _dct_scale_keeping(_crop_extent(pixels, disc, crop_mode, crop_threshold) * scale, wanted)

    def decode_finer():
        finer_pixels = _decode_jpeg_at_scale(image_bytes, finer)
        return (finer_pixels,) + tuple(find_disc(finer_pixels, crop_threshold))

    pixels, *disc = tf.cond(finer < scale, decode_finer, lambda: (pixels,) + tuple(disc))
    return pixels, fundus_disc.Disc(*disc)


def _frame_lines(start, side, length, size, margin):
    """fundus.disc.frame_lines in TensorFlow (int32 start, side and length; float64 margin)."""
    side, length = tf.cast(side, tf.float64), tf.cast(length, tf.float64)
    positions = tf.cast(start, tf.float64) + (tf.range(size, dtype=tf.float64) + 0.5) * (side / size)
    return (positions >= margin) & (positions < length - margin)


def _disc_region(size, share, frame_rows=None, frame_columns=None):
    """fundus.disc.disc_region with the frame's rows and columns as tensors (`size` is known when the graph is
    built, so the circle is a constant)."""
    inside = tf.constant(fundus_disc.disc_region(size, share))
    if frame_rows is None:
        return inside
    return inside & frame_rows[:, None] & frame_columns[None, :]


def _disc_mask(disc, frame_shape, size, share):
    """fundus_preparation.disc_mask of a disc's square resized to `size`."""
    top, left, side = square_box(disc)
    margin = (1 - share) * tf.cast(side, tf.float64) / 2
    return _disc_region(size, share, _frame_lines(top, side, frame_shape[0], size, margin),
                        _frame_lines(left, side, frame_shape[1], size, margin))


def _blur(image, sigma):
    """fundus.quality's separable Gaussian blur (zero outside) of a float64 [height, width] image."""
    kernel = tf.constant(fundus_quality.gaussian_kernel(sigma), tf.float64)
    batch = image[None, :, :, None]
    batch = tf.nn.conv2d(batch, kernel[:, None, None, None], strides=1, padding="SAME")
    return tf.nn.conv2d(batch, kernel[None, :, None, None], strides=1, padding="SAME")[0, :, :, 0]


def _std(values):
    return tf.sqrt(tf.reduce_mean(tf.square(values - tf.reduce_mean(values))))


def _resized_square(pixels, disc, image_size):
    """The disc's square resized to preparation.measured_size(image_size), as preparation.prepare_fundus makes it."""
    return resize_bicubic(crop_disc(pixels, disc), fundus_preparation.measured_size(image_size))


def quality(pixels, disc, resized_square, image_size):
    """fundus_preparation.measure_quality in TensorFlow: {measure name: scalar tensor}, `gradable` included.

    Args:
      pixels: the decoded photo.
      disc: its fundus.disc.Disc of tensors.
      resized_square: _resized_square of them at `image_size`.
      image_size: the conversion's --image_size.
    """
    size = fundus_quality.QUALITY_SIZE
    square = (resized_square if fundus_preparation.measured_size(image_size) == size
              else resize_bicubic(resized_square, size))
    frame_shape = tf.shape(pixels)
    luminance = tf.reduce_sum(tf.cast(square, tf.float64) * tf.constant(fundus_quality.LUMA, tf.float64), axis=2)
    region = _disc_mask(disc, frame_shape, size, fundus_quality.MEASURED_SHARE)
    fine_blur = _blur(luminance, fundus_quality.FINE_SIGMA)
    fine = tf.boolean_mask(luminance - fine_blur, region)
    detail = tf.boolean_mask(fine_blur - _blur(luminance, fundus_quality.COARSE_SIGMA), region)
    field = (tf.reduce_sum(tf.cast(_disc_mask(disc, frame_shape, size, 1.0), tf.float64))
             / tf.reduce_sum(tf.cast(_disc_region(size, 1.0), tf.float64)))
    measured = tf.size(fine) > 0
    exposure = tf.where_v2(measured, tf.reduce_mean(tf.boolean_mask(luminance, region)), 0.0)
    contrast = tf.where_v2(measured, _std(detail), 0.0)
    sharpness = tf.where_v2(contrast > 0, tf.math.divide_no_nan(_std(fine), contrast), 0.0)
    gradable = (measured & disc.found & (exposure >= fundus_quality.MIN_EXPOSURE)
                & (exposure <= fundus_quality.MAX_EXPOSURE) & (contrast >= fundus_quality.MIN_CONTRAST)
                & (sharpness >= fundus_quality.MIN_SHARPNESS))
    return dict(zip(QUALITY_OUTPUTS, (gradable, disc.found, field, exposure, contrast, sharpness)))


def _keys_cubic(x):
    """The bicubic convolution kernel with a = -0.5 (Keys 1981), as Pillow's BICUBIC filter."""
    x = tf.abs(x)
    near = ((CUBIC_A + 2.0) * x - (CUBIC_A + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * CUBIC_A
    return tf.where_v2(x < 1.0, near, tf.where_v2(x < 2.0, far, tf.zeros_like(x)))


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
    weights = tf.where_v2(indices < end[:, None], weights, tf.zeros_like(weights))
    weights = tf.math.divide_no_nan(weights, tf.reduce_sum(weights, axis=1, keepdims=True))
    scaled = weights * 2.0 ** FIXED_POINT_BITS
    fixed = tf.cast(tf.where_v2(weights < 0, scaled - 0.5, scaled + 0.5), tf.int64)
    return tf.minimum(indices, in_size - 1), tf.cast(fixed, tf.float64)


def _rounding_shift(sums, bits):
    """Pillow's rounding right shift by `bits` of integer sums (exact in float64), clipped to 0..255."""
    return tf.clip_by_value(tf.floor((sums + 2.0 ** (bits - 1)) / 2.0 ** bits), 0.0, 255.0)


def _resample_axis(pixels, out_size, axis):
    """Resamples a float64 [height, width, channels] image of 8-bit values along `axis` (0 or 1), rounded to 8 bits."""
    indices, weights = _resampling_taps(tf.shape(pixels)[axis], out_size)
    gathered = tf.gather(pixels, indices, axis=axis)
    weights = weights[None, :, :, None] if axis == 1 else weights[:, :, None, None]
    # Integer sums (output pixel i: the pixels at indices[i] times the integer weights[i]), exact in float64.
    return _rounding_shift(tf.reduce_sum(gathered * weights, axis=axis + 1), FIXED_POINT_BITS)


def resize_bicubic(pixels, image_size):
    """fundus_preparation.resize_bicubic in TensorFlow: Pillow's 8-bit bicubic resampling, horizontal pass first."""
    image = tf.cast(pixels, tf.float64)
    return tf.cast(_resample_axis(_resample_axis(image, image_size, axis=1), image_size, axis=0), tf.uint8)


def _box_blur_radius(sigma):
    """Pillow's fractional box radius (_gaussian_blur_radius, in C floats) of the BOX_BLUR_PASSES box blurs that
    stand for a Gaussian of `sigma` (Gwosdek et al. 2011)."""
    single = np.float32
    variance = single(single(sigma) * single(sigma) / single(BOX_BLUR_PASSES))
    length = single(np.sqrt(12.0 * np.float64(variance) + 1.0))
    whole = single(np.floor((np.float64(length) - 1.0) / 2.0))
    fraction = single((single(2) * whole + single(1)) * (whole * (whole + single(1)) - single(3) * variance))
    fraction = single(fraction / (single(6) * (variance - (whole + single(1)) * (whole + single(1)))))
    return single(whole + fraction)


def _box_weights(radius):
    """Pillow's fixed-point box of a fractional `radius` (ImagingHorizontalBoxBlur): (whole radius, weight of each
    pixel within it, weight of the two pixels just beyond it), the weights of BOX_BLUR_BITS bits."""
    whole = int(radius)
    inner = int(np.float32(1 << BOX_BLUR_BITS) / (radius * np.float32(2) + np.float32(1)))
    return whole, inner, ((1 << BOX_BLUR_BITS) - (whole * 2 + 1) * inner) // 2


def _box_blur_axis(pixels, radius, axis):
    """One pass of Pillow's box blur of `radius` along `axis` (0 or 1) of a float64 [height, width, channels] image
    of 8-bit values, the edge pixels repeated beyond the edge."""
    whole, inner, outer = _box_weights(radius)
    length = tf.shape(pixels)[axis]
    taps = 2 * whole + 3
    padded = tf.gather(pixels, tf.clip_by_value(tf.range(-whole - 1, length + whole + 1), 0, length - 1), axis=axis)

    def shifted(values, start):
        return values[start:start + length] if axis == 0 else values[:, start:start + length]

    # Output x's box is padded[x + 1:x + taps - 1], between the two pixels weighed `outer`; summed as the
    # difference of running sums (integers, exact in float64).
    running = tf.cumsum(padded, axis=axis)
    box = shifted(running, taps - 2) - shifted(running, 0)
    return _rounding_shift(inner * box + outer * (shifted(padded, 0) + shifted(padded, taps - 1)), BOX_BLUR_BITS)


def gaussian_blur(pixels, sigma):
    """Pillow's ImageFilter.GaussianBlur(sigma) in TensorFlow, pixel for pixel: BOX_BLUR_PASSES box blurs along
    the rows, then as many along the columns, each rounded to 8 bits (float64 [height, width, channels] in and
    out)."""
    radius = _box_blur_radius(sigma)
    for axis in (1,) * BOX_BLUR_PASSES + (0,) * BOX_BLUR_PASSES:
        pixels = _box_blur_axis(pixels, radius, axis)
    return pixels


def graham_normalise(pixels, disc=None):
    """fundus_preparation.graham_normalise in TensorFlow, pixel for pixel, of a uint8 [size, size, 3] image (its
    size known when the graph is built); `disc` a boolean [size, size] mask, by default the inner
    GRAHAM_DISC_SHARE of the inscribed circle."""
    side = tf.compat.dimension_value(pixels.shape[0])
    if disc is None:
        disc = _disc_region(side, fundus_preparation.GRAHAM_DISC_SHARE)
    image = tf.cast(pixels, tf.float64)
    blurred = gaussian_blur(image, side / 2 / fundus_preparation.GRAHAM_SIGMA_DIVISOR)
    normalised = fundus_preparation.GRAHAM_GAIN * (image - blurred) + fundus_preparation.GRAHAM_GREY
    normalised = tf.where_v2(disc[:, :, None], normalised, float(fundus_preparation.GRAHAM_GREY))
    return tf.cast(tf.clip_by_value(normalised, 0.0, 255.0), tf.uint8)


def _as_saved(resized, visible=None, graham_disc=None):
    """A resized crop black outside `visible` (a boolean mask), Graham-normalised when given `graham_disc` (its
    mask), then through the conversion's JPEG (quality 95) and back."""
    if visible is not None:
        resized = resized * tf.cast(visible, tf.uint8)[:, :, None]
    if graham_disc is not None:
        resized = graham_normalise(resized, graham_disc)
    encoded = tf.io.encode_jpeg(resized, quality=fundus_preparation.JPEG_QUALITY, chroma_downsampling=False)
    return tf.io.decode_jpeg(encoded, channels=3)


def _visible(pixels, disc, image_size):
    """What preparation.prepare_fundus keeps of a disc crop resized to `image_size`: inside_frame and circle_mask."""
    top, left, side = square_box(disc)
    shape = tf.shape(pixels)
    margin = fundus_preparation.FRAME_EDGE_PIXELS * tf.cast(side, tf.float64) / image_size
    rows = _frame_lines(top, side, shape[0], image_size, margin)
    columns = _frame_lines(left, side, shape[1], image_size, margin)
    return rows[:, None] & columns[None, :] & circle_mask(disc, image_size)


def _decoded(image_bytes):
    return tf.io.decode_image(image_bytes, channels=3, expand_animations=False)


def prepared_photo(image_bytes, image_size, crop_threshold=fundus_preparation.DEFAULT_CROP_THRESHOLD,
                   crop_mode=fundus_preparation.DEFAULT_CROP_MODE, graham=False):
    """Returns what the conversion makes of `image_bytes`: the prepared image and the photo's quality.

    Args:
      image_bytes: a scalar string tensor, one encoded JPEG or PNG (or BMP, GIF) file.
      image_size: the conversion's --image_size.
      crop_threshold: the conversion's --crop_threshold.
      crop_mode: the conversion's --crop_mode.
      graham: the conversion's --graham (an image of the prepared size is taken as normalised already).

    Returns:
      (uint8 [image_size, image_size, 3] image, {measure name: scalar tensor} as `quality` returns).
    """
    if crop_mode not in fundus_preparation.CROP_MODES:
        raise ValueError(f"crop_mode={crop_mode!r}: must be one of {', '.join(fundus_preparation.CROP_MODES)}")

    def is_prepared(shape):
        return tf.reduce_all(tf.equal(shape[:2], image_size))

    def as_it_is(pixels):
        disc = find_disc(pixels, crop_threshold)
        return (pixels,) + tuple(quality(pixels, disc, _resized_square(pixels, disc, image_size), image_size).values())

    def prepare(pixels, disc):
        resized_square = _resized_square(pixels, disc, image_size)
        return ((_prepared_crop(pixels, disc, crop_mode, crop_threshold, image_size, resized_square, graham),)
                + tuple(quality(pixels, disc, resized_square, image_size).values()))

    def from_jpeg():
        return tf.cond(is_prepared(tf.image.extract_jpeg_shape(image_bytes)), lambda: as_it_is(_decoded(image_bytes)),
                       lambda: prepare(*_decoded_for_crop(image_bytes, image_size, crop_threshold, crop_mode)))

    def from_other():
        pixels = _decoded(image_bytes)
        return tf.cond(is_prepared(tf.shape(pixels)), lambda: as_it_is(pixels),
                       lambda: prepare(pixels, find_disc(pixels, crop_threshold)))

    image, *measures = tf.cond(tf.io.is_jpeg(image_bytes), from_jpeg, from_other)
    return tf.ensure_shape(image, [image_size, image_size, 3]), dict(zip(QUALITY_OUTPUTS, measures))


def prepared_image(image_bytes, image_size, crop_threshold=fundus_preparation.DEFAULT_CROP_THRESHOLD,
                   crop_mode=fundus_preparation.DEFAULT_CROP_MODE, graham=False):
    """Returns the uint8 [image_size, image_size, 3] image that the conversion makes of `image_bytes`."""
    return prepared_photo(image_bytes, image_size, crop_threshold, crop_mode, graham)[0]
