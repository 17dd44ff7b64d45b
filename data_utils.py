"""Fundus photograph preprocessing: reduced JPEG decode, black-border crop, resize, save.

The book's pipeline decodes every Kaggle photograph at full size (up to
5,184x3,456), crops the black border and resizes to 299x299 bicubic. Decoding
dominates, so here the JPEG is decoded in the DCT domain at 1/2, 1/4 or 1/8
scale (Pillow's `draft`) whenever the cropped disc still has at least twice the
target size on each side; the crop and the bicubic resize are the book's. The
module imports neither TensorFlow nor slim, so worker processes start fast.
"""
import os
import warnings

from collections import namedtuple

import numpy as np
from PIL import Image, ImageFilter

from fundus import disc as fundus_disc
from fundus import quality as fundus_quality
from utils import atomic_files

DEFAULT_IMAGE_SIZE = 299
DEFAULT_CROP_THRESHOLD = 10
# "disc": a square around the fitted disc, its side the diameter (round discs from every camera);
# "book": the book's bounding box stretched to a square.
CROP_MODES = ("disc", "book")
DEFAULT_CROP_MODE = "disc"
# What `preprocess_fundus` makes of a photograph, keyword argument -> default. The conversion
# records these settings with every image it writes and makes an image again when they change,
# so a new option of `preprocess_fundus` joins here with its default.
DEFAULT_SETTINGS = {
    "image_size": DEFAULT_IMAGE_SIZE,
    "crop_threshold": DEFAULT_CROP_THRESHOLD,
    "graham": False,
    "crop_mode": DEFAULT_CROP_MODE,
}
JPEG_QUALITY = 95
# Pillow's 4:4:4 (no chroma subsampling): a disc's colour does not bleed into the black beyond the
# frame's cut, which stays black.
JPEG_SUBSAMPLING = 0
# About four times the largest Kaggle photograph (5,184x3,456); a 30,000x30,000
# JPEG header is refused before any pixel is decoded.
MAX_IMAGE_PIXELS = 80_000_000
# Reduced decoding must leave at least this many times the target size.
MIN_DECODE_FACTOR = 2
# A disc smaller than this share of the target size would be blown up into a blurred example.
MIN_DISC_SHARE = 0.5
# Output pixels this many of their own widths from the frame's edge are made black (inside_frame).
FRAME_EDGE_PIXELS = 2
# Largest difference between the colour channels of a photograph that is still called greyscale
# (JPEG rounding of a grey image stays within it; a fundus photograph is far redder).
GREYSCALE_CHANNEL_SPREAD = 3
PIL_GREYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")


class BadImageError(ValueError):
    """An input image that cannot be preprocessed; the message names the problem."""


def black_border_box(image, threshold=DEFAULT_CROP_THRESHOLD):
    """Returns the book's crop box of `image`, or None when every pixel is dark.

    Rows and columns whose maximum over all channels is at most `threshold` are
    dropped from the edges (dark rows inside the disc are kept).

    Args:
      image: uint8 array of shape (height, width) or (height, width, channels).
      threshold: largest value still counted as black.

    Returns:
      (top, bottom, left, right) with bottom/right exclusive, or None.
    """
    # The same maxima as max-over-channels then max-over-rows/columns, but reduced
    # along contiguous memory: about 100x faster than image.max(axis=2) first.
    row_maxima = image.reshape(image.shape[0], -1).max(axis=1)
    column_maxima = image.max(axis=0)
    if column_maxima.ndim == 2:
        column_maxima = column_maxima.max(axis=1)
    rows = np.flatnonzero(row_maxima > threshold)
    if rows.size == 0:
        return None
    columns = np.flatnonzero(column_maxima > threshold)
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def crop_black_borders(image, threshold=DEFAULT_CROP_THRESHOLD):
    """Returns `image` without its black border; an all-black image comes back uncropped.

    Unlike the book, which returned a 1x1 image for an all-black photograph, the
    whole image is kept; callers that must report it use `black_border_box`.
    """
    box = black_border_box(image, threshold)
    if box is None:
        return image
    top, bottom, left, right = box
    return image[top:bottom, left:right]


def open_jpeg(path, max_pixels=MAX_IMAGE_PIXELS):
    """Opens a JPEG lazily (header only) after checking what it claims to be.

    Raises:
      BadImageError: not an image, not a JPEG, or more than `max_pixels` pixels.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89M pixels; MAX_IMAGE_PIXELS is lower and refuses those anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise BadImageError(f"refused as a decompression bomb: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"not a readable image ({error})") from error
    if image.format != "JPEG":
        image.close()
        raise BadImageError(f"not a JPEG but {image.format}")
    if image.mode in PIL_GREYSCALE_MODES:
        image.close()
        raise BadImageError(_GREYSCALE_PROBLEM)
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise BadImageError(f"refused as a decompression bomb: the header claims {width}x{height}, "
                            f"more than {max_pixels:,} pixels")
    return image


_GREYSCALE_PROBLEM = "a greyscale photograph: grading needs the colour of the lesions; refused"


def check_size(pixels, scale, image_size):
    """Refuses an image (decoded at 1/`scale`) whose short side in the file is under MIN_DISC_SHARE of `image_size`.

    Raises:
      BadImageError: naming the size.
    """
    height, width = pixels.shape[0] * scale, pixels.shape[1] * scale
    if min(height, width) < MIN_DISC_SHARE * image_size:
        raise BadImageError(f"too small: {width}x{height} pixels without its black border, under half the "
                            f"output size {image_size}; refused rather than blown up")


def check_colour(pixels):
    """Refuses an RGB uint8 image whose three channels are (nearly) equal everywhere.

    Raises:
      BadImageError: a greyscale photograph.
    """
    spread = pixels.max(axis=2).astype(np.int16) - pixels.min(axis=2)
    if spread.max() <= GREYSCALE_CHANNEL_SPREAD:
        raise BadImageError(_GREYSCALE_PROBLEM)


def _dct_scale_keeping(length, wanted):
    """Returns the largest JPEG DCT scale (1, 2, 4 or 8) that leaves `length` pixels at least `wanted`."""
    return max(scale for scale in (1, 2, 4, 8) if scale == 1 or length // scale >= wanted)


def _decode_at_scale(image, scale):
    """Decodes an opened JPEG as RGB, 1/`scale` of its size on each side."""
    if scale > 1:
        # Asking for exactly size // scale makes Pillow pick exactly `scale`.
        image.draft("RGB", (image.size[0] // scale, image.size[1] // scale))
    try:
        return np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"corrupt or truncated JPEG ({error})") from error


FundusCrop = namedtuple("FundusCrop", "pixels disc frame_shape crop_mode quality all_black")


def _crop_extent(pixels, disc, crop_mode, threshold):
    """The crop's short side at this decode: the disc's square, or the book's bounding box (None if all dark)."""
    if crop_mode == "disc" and disc.found:
        return fundus_disc.square_box(disc)[2]
    box = black_border_box(pixels, threshold)
    return None if box is None else min(box[1] - box[0], box[3] - box[2])


def decode_target(image_size):
    """The fewest pixels a reduced decode keeps on the crop's side: twice the output, and the quality measures' size."""
    return max(MIN_DECODE_FACTOR * image_size, fundus_quality.QUALITY_SIZE)


def _decode_for_crop(path, image_size, crop_threshold, crop_mode, max_pixels):
    """Decodes as small as the crop allows; returns (pixels, scale, disc).

    The first decode keeps decode_target(image_size) on the frame's short side; when the
    crop is too small for that at the chosen scale, the image is decoded again at
    the scale the crop needs (rare: the disc fills most of a Kaggle frame).
    """
    wanted = decode_target(image_size)
    with open_jpeg(path, max_pixels) as image:
        scale = _dct_scale_keeping(min(image.size), wanted)
        pixels = _decode_at_scale(image, scale)
    disc = fundus_disc.find_disc(pixels, crop_threshold)
    extent = _crop_extent(pixels, disc, crop_mode, crop_threshold)
    if extent is not None and scale > 1:
        finer = _dct_scale_keeping(extent * scale, wanted)
        if finer < scale:
            with open_jpeg(path, max_pixels) as image:
                pixels = _decode_at_scale(image, finer)
            scale = finer
            disc = fundus_disc.find_disc(pixels, crop_threshold)
    return pixels, scale, disc


def measure_quality(square, disc, frame_shape):
    """The Quality of a photograph from its disc's square (fundus.disc.crop_disc), measured at QUALITY_SIZE.

    Raises:
      BadImageError: a greyscale photograph.
    """
    size = fundus_quality.QUALITY_SIZE
    crop = FundusCrop(resize_bicubic(square, size), disc, frame_shape, "disc", None, False)
    check_colour(crop.pixels)
    field = disc_mask(crop, size, 1.0).sum() / fundus_disc.disc_region(size, 1.0, *[np.ones(size, bool)] * 2).sum()
    return fundus_quality.measure(crop.pixels, disc_mask(crop, size, fundus_quality.MEASURED_SHARE), disc.found,
                                  field)


def load_cropped_fundus(path, image_size=DEFAULT_IMAGE_SIZE, crop_threshold=DEFAULT_CROP_THRESHOLD,
                        max_pixels=MAX_IMAGE_PIXELS, crop_mode=DEFAULT_CROP_MODE):
    """Decodes a fundus JPEG as small as allowed, crops it and measures its gradability.

    `crop_mode` "disc": the square centred on the fitted disc, its side the disc's diameter,
    black outside the frame and the circle (the book's crop when no disc is found).
    "book": the book's bounding box of the pixels brighter than `crop_threshold`.

    Returns:
      A FundusCrop: the cropped RGB uint8 array, the fitted Disc, the photo's Quality, and
      whether the image was all black and kept uncropped.

    Raises:
      BadImageError: the file is not a decodable JPEG within `max_pixels`, is greyscale, or
        its disc is too small for `image_size`.
    """
    if crop_mode not in CROP_MODES:
        raise ValueError(f"crop_mode={crop_mode!r}: must be one of {', '.join(CROP_MODES)}")
    pixels, scale, disc = _decode_for_crop(path, image_size, crop_threshold, crop_mode, max_pixels)
    box = black_border_box(pixels, crop_threshold)
    if box is None:
        check_size(pixels, scale, image_size)
        return FundusCrop(pixels, disc, pixels.shape[:2], "book", fundus_quality.unmeasured(), True)
    square = fundus_disc.crop_disc(pixels, disc)
    quality = measure_quality(square, disc, pixels.shape[:2])
    if crop_mode == "disc" and disc.found:
        cropped = square
    else:
        crop_mode = "book"
        top, bottom, left, right = box
        cropped = pixels[top:bottom, left:right]
    check_size(cropped, scale, image_size)
    return FundusCrop(cropped, disc, pixels.shape[:2], crop_mode, quality, False)


def disc_mask(crop, size, share):
    """Boolean [size, size] of a crop resized to `size`: within `share` of the disc's radius and inside
    the frame by (1 - share) of the radius; a book crop's disc is the square's inscribed circle."""
    everywhere = np.ones(size, dtype=bool)
    if crop.crop_mode != "disc":
        return fundus_disc.disc_region(size, share, everywhere, everywhere)
    top, left, side = fundus_disc.square_box(crop.disc)
    margin = (1 - share) * side / 2
    return fundus_disc.disc_region(size, share, fundus_disc.frame_lines(top, side, crop.frame_shape[0], size, margin),
                                   fundus_disc.frame_lines(left, side, crop.frame_shape[1], size, margin))


def inside_frame(crop, size):
    """Whether each row and column of a disc crop resized to `size` takes its pixels from inside the frame only.

    Rows and columns within FRAME_EDGE_PIXELS of the frame's edge mix the photo with the black
    beyond it (the bicubic kernel's reach). Made black, they leave a clipped disc a clean,
    straight edge instead of a dim, ragged one.

    Returns:
      (rows, columns): boolean [size] vectors; all True for a book crop.
    """
    if crop.crop_mode != "disc":
        return np.ones(size, dtype=bool), np.ones(size, dtype=bool)
    top, left, side = fundus_disc.square_box(crop.disc)
    margin = FRAME_EDGE_PIXELS * side / size
    return (fundus_disc.frame_lines(top, side, crop.frame_shape[0], size, margin),
            fundus_disc.frame_lines(left, side, crop.frame_shape[1], size, margin))


def resize_bicubic(pixels, image_size=DEFAULT_IMAGE_SIZE):
    """Returns `pixels` resized to image_size x image_size, bicubic, aspect ratio not kept (as the book)."""
    return np.asarray(Image.fromarray(pixels).resize((image_size, image_size), Image.BICUBIC))


# Graham's normalisation (Kaggle DR 2015 winner): local-average subtraction with a Gaussian of
# sigma = disc radius / GRAHAM_SIGMA_DIVISOR, contrast GRAHAM_GAIN, grey GRAHAM_GREY outside
# GRAHAM_DISC_SHARE of the radius.
GRAHAM_SIGMA_DIVISOR = 30
GRAHAM_GAIN = 4
GRAHAM_GREY = 128
GRAHAM_DISC_SHARE = 0.9


def graham_normalise(pixels, disc=None):
    """Returns B. Graham's normalisation of a square RGB uint8 image of a disc of radius side / 2.

    Each pixel's local average colour (a Gaussian blur with sigma = radius / 30) is
    subtracted, the difference amplified 4x around grey 128 (lesions and vessels stand out,
    illumination and pigment differences between photographs vanish), and everything outside
    `disc` (a boolean mask, see disc_mask; default the inner 90 % of the inscribed circle) is
    grey: the rim's glare and, where the frame cut the disc, the blur's bleed from the black.
    """
    side = pixels.shape[0]
    radius = side / 2
    if disc is None:
        everywhere = np.ones(side, dtype=bool)
        disc = fundus_disc.disc_region(side, GRAHAM_DISC_SHARE, everywhere, everywhere)
    image = Image.fromarray(pixels)
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(radius / GRAHAM_SIGMA_DIVISOR)), dtype=np.float32)
    normalised = GRAHAM_GAIN * (pixels.astype(np.float32) - blurred) + GRAHAM_GREY
    normalised[~disc] = GRAHAM_GREY
    return np.uint8(np.clip(np.rint(normalised), 0, 255))


def save_jpeg_atomically(pixels, path, quality=JPEG_QUALITY):
    """Writes `pixels` as a JPEG under a temporary name, then renames it to `path`."""
    with atomic_files.atomic_path(path) as temporary:
        Image.fromarray(pixels).save(temporary, format="JPEG", quality=quality, subsampling=JPEG_SUBSAMPLING)


def preprocess_fundus(source, destination, image_size=DEFAULT_IMAGE_SIZE, crop_threshold=DEFAULT_CROP_THRESHOLD,
                      graham=False, crop_mode=DEFAULT_CROP_MODE, max_pixels=MAX_IMAGE_PIXELS):
    """Reduced decode, crop, bicubic resize (with `graham`, then graham_normalise) and JPEG save of one photograph.

    Returns:
      (the photo's fundus.quality.Quality, a warning for the report (e.g. all black, kept
      uncropped) or None).

    Raises:
      BadImageError: `source` is not a decodable JPEG within `max_pixels`.
    """
    crop = load_cropped_fundus(source, image_size, crop_threshold, max_pixels, crop_mode)
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    resized = resize_bicubic(crop.pixels, image_size)
    rows, columns = inside_frame(crop, image_size)
    resized = resized * (rows[:, None, None] & columns[None, :, None]).astype(np.uint8)
    if graham:
        resized = graham_normalise(resized, disc_mask(crop, image_size, GRAHAM_DISC_SHARE))
    save_jpeg_atomically(resized, destination)
    if crop.all_black:
        return crop.quality, f"every pixel is at most {crop_threshold}: kept uncropped"
    return crop.quality, None
