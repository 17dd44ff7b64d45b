"""Fundus photograph preparation: reduced JPEG decode, disc (or book) crop, gradability, resize, save.

The book's pipeline decodes every Kaggle photograph at full size (up to
5,184x3,456), crops the black border and resizes to 299x299 bicubic. Decoding
dominates, so here the JPEG is decoded in the DCT domain at 1/2, 1/4 or 1/8
scale (Pillow's `draft`) whenever the crop still has at least MIN_DECODE_FACTOR
times the target size on each side (PNG and TIFF photos, which some public DR
datasets ship, are decoded whole). The crop is, by default, the square around
the disc fitted as a circle (fundus.disc: round discs of one size from every
camera, black where the frame cut them); crop mode "book" keeps the book's
bounding box. Each photo's gradability is measured on the disc (fundus.quality).
The module imports neither TensorFlow nor slim, so worker processes start fast.
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
# Reduced decoding must leave at least this many times the target size. 1.75 rather than 2 spares
# the whole-disc photos of 4:3 cameras a decode at twice the scale (bench_preprocess: 13.7x the
# naive pipeline instead of 10.7x, mean PSNR against it 40.5 dB instead of 41.1 dB).
MIN_DECODE_FACTOR = 1.75
# A disc smaller than this share of the target size would be blown up into a blurred example.
MIN_DISC_SHARE = 0.5
# Output pixels this many of their own widths from the frame's edge are made black (inside_frame).
FRAME_EDGE_PIXELS = 2
# Largest difference between the colour channels of a photograph that is still called greyscale
# (JPEG rounding of a grey image stays within it; a fundus photograph is far redder).
GREYSCALE_CHANNEL_SPREAD = 3
PIL_GREYSCALE_MODES = ("1", "L", "LA", "I", "I;16", "F")
# Photo file extensions and the format each promises (the public DR datasets ship PNG and TIFF
# as well as JPEG); only a JPEG can be decoded at reduced scale.
PHOTO_FORMATS = {".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}


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


def open_photo(path, max_pixels=MAX_IMAGE_PIXELS):
    """Opens a photograph lazily (header only) after checking that it is what its name says (PHOTO_FORMATS).

    Raises:
      BadImageError: not an image, not the format its extension names (JPEG for any other), or more
        than `max_pixels` pixels.
    """
    expected = PHOTO_FORMATS.get(os.path.splitext(path)[1].lower(), "JPEG")
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89M pixels; MAX_IMAGE_PIXELS is lower and refuses those anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise BadImageError(f"refused as a decompression bomb: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"not a readable image ({error})") from error
    if image.format != expected:
        image.close()
        raise BadImageError(f"not a {expected} but {image.format}")
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


def check_size(shape, scale, image_size):
    """Refuses an image of `shape` (height, width, decoded at 1/`scale`) whose short side in the file is
    under MIN_DISC_SHARE of `image_size`.

    Raises:
      BadImageError: naming the size.
    """
    height, width = shape[0] * scale, shape[1] * scale
    if min(height, width) < MIN_DISC_SHARE * image_size:
        raise BadImageError(f"too small: {width}x{height} pixels without its black border, under half the "
                            f"output size {image_size}; refused rather than blown up")


def check_colour(pixels):
    """Refuses an RGB uint8 image whose three channels are (nearly) equal everywhere.

    Raises:
      BadImageError: a greyscale photograph.
    """
    darkest = np.minimum.reduce([pixels[:, :, channel] for channel in range(pixels.shape[2])])
    spread = fundus_disc.brightest_channel(pixels).astype(np.int16) - darkest
    if spread.max() <= GREYSCALE_CHANNEL_SPREAD:
        raise BadImageError(_GREYSCALE_PROBLEM)


def _dct_scale_keeping(length, wanted):
    """Returns the largest JPEG DCT scale (1, 2, 4 or 8) that leaves `length` pixels at least `wanted`."""
    return max(scale for scale in (1, 2, 4, 8) if scale == 1 or length // scale >= wanted)


def _decode_at_scale(path, max_pixels, scale_for):
    """Decodes a photo as RGB at 1/scale of its size on each side, scale = scale_for(its short side) for a JPEG
    and 1 for other formats.

    Returns:
      (the decoded PIL image, the same pixels as a uint8 array, scale).
    """
    image = open_photo(path, max_pixels)
    try:
        scale = scale_for(min(image.size)) if image.format == "JPEG" else 1
        # Asking for exactly size // scale makes Pillow pick exactly `scale`.
        image.draft("RGB", (image.size[0] // scale, image.size[1] // scale))
        image.load()
        photo = image if image.mode == "RGB" else image.convert("RGB")
        return photo, np.asarray(photo), scale
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImageError(f"corrupt or truncated {image.format} ({error})") from error
    finally:
        # Loading closed the file; this releases it when decoding failed first.
        if image.fp:
            image.fp.close()


# A decoded photograph cropped: `image` the crop and `square` the disc's square (PIL images, the
# same in disc mode), the fitted `disc` and the decode's `frame_shape` in pixels.
FundusCrop = namedtuple("FundusCrop", "image square disc frame_shape crop_mode all_black")


def _crop_extent(box, disc, crop_mode):
    """The crop's short side at this decode: the disc's square, or the book's bounding `box` (None if all dark)."""
    if crop_mode == "disc" and disc.found:
        return fundus_disc.square_box(disc)[2]
    return None if box is None else min(box[1] - box[0], box[3] - box[2])


def decode_target(image_size):
    """The fewest pixels a reduced decode keeps on the crop's side: MIN_DECODE_FACTOR times the output, and the
    quality measures' size."""
    return max(int(np.ceil(MIN_DECODE_FACTOR * image_size)), fundus_quality.QUALITY_SIZE)


def _decode_for_crop(path, image_size, crop_threshold, crop_mode, max_pixels):
    """Decodes as small as the crop allows; returns (PIL image, pixels, scale, disc, black_border_box).

    The first decode keeps decode_target(image_size) on the frame's short side; when the
    crop is too small for that at the chosen scale, the image is decoded again at
    the scale the crop needs (rare: the disc fills most of a Kaggle frame).
    """
    wanted = decode_target(image_size)
    photo, pixels, scale = _decode_at_scale(path, max_pixels, lambda short_side: _dct_scale_keeping(short_side, wanted))
    disc, box = fundus_disc.find_disc(pixels, crop_threshold), black_border_box(pixels, crop_threshold)
    extent = _crop_extent(box, disc, crop_mode)
    if extent is not None and scale > 1:
        finer = _dct_scale_keeping(extent * scale, wanted)
        if finer < scale:
            photo, pixels, scale = _decode_at_scale(path, max_pixels, lambda _: finer)
            disc, box = fundus_disc.find_disc(pixels, crop_threshold), black_border_box(pixels, crop_threshold)
    return photo, pixels, scale, disc, box


def measured_size(image_size):
    """The size the disc's square is resized to before it is measured at QUALITY_SIZE: the output's when at least
    that (the resize is shared), else QUALITY_SIZE."""
    return max(image_size, fundus_quality.QUALITY_SIZE)


def measure_quality(resized_square, crop):
    """The Quality of a photograph from its disc's square resized to measured_size, measured at QUALITY_SIZE.

    Raises:
      BadImageError: a greyscale photograph.
    """
    size = fundus_quality.QUALITY_SIZE
    pixels = resized_square if resized_square.shape[0] == size else resize_bicubic(resized_square, size)
    check_colour(pixels)
    square = crop._replace(crop_mode="disc")
    field = disc_mask(square, size, 1.0).sum() / fundus_disc.disc_region(size, 1.0).sum()
    return fundus_quality.measure(pixels, disc_mask(square, size, fundus_quality.MEASURED_SHARE), crop.disc.found,
                                  field)


def load_cropped_fundus(path, image_size=DEFAULT_IMAGE_SIZE, crop_threshold=DEFAULT_CROP_THRESHOLD,
                        max_pixels=MAX_IMAGE_PIXELS, crop_mode=DEFAULT_CROP_MODE):
    """Decodes a fundus photo (a JPEG as small as allowed) and crops it.

    `crop_mode` "disc": the square centred on the fitted disc, its side the disc's diameter,
    black outside the frame (the book's crop when no disc is found).
    "book": the book's bounding box of the pixels brighter than `crop_threshold`.

    Returns:
      A FundusCrop: the crop (RGB uint8), the disc's square (the crop itself in disc mode), the
      fitted Disc, the decode's shape, the crop mode used, and whether the image was all black
      and kept uncropped.

    Raises:
      BadImageError: the file is not a decodable photo (PHOTO_FORMATS) within `max_pixels`, is greyscale, or
        its disc is too small for `image_size`.
    """
    if crop_mode not in CROP_MODES:
        raise ValueError(f"crop_mode={crop_mode!r}: must be one of {', '.join(CROP_MODES)}")
    photo, pixels, scale, disc, box = _decode_for_crop(path, image_size, crop_threshold, crop_mode, max_pixels)
    if box is None:
        check_size(pixels.shape, scale, image_size)
        return FundusCrop(photo, None, disc, pixels.shape[:2], "book", True)
    top, left, side = fundus_disc.square_box(disc)
    # Pillow's crop is black where the box leaves the frame.
    square = photo.crop((left, top, left + side, top + side))
    if crop_mode == "disc" and disc.found:
        cropped = square
    else:
        crop_mode = "book"
        top, bottom, left, right = box
        cropped = photo.crop((left, top, right, bottom))
    check_size((cropped.height, cropped.width), scale, image_size)
    return FundusCrop(cropped, square, disc, pixels.shape[:2], crop_mode, False)


def prepare_fundus(path, image_size=DEFAULT_IMAGE_SIZE, crop_threshold=DEFAULT_CROP_THRESHOLD,
                   max_pixels=MAX_IMAGE_PIXELS, crop_mode=DEFAULT_CROP_MODE):
    """Returns (the prepared uint8 image_size x image_size image, its crop (a FundusCrop), the photo's Quality).

    The image is the crop resized (bicubic); a disc crop is then black beyond the frame
    (inside_frame) and outside its circle (fundus.disc.circle_mask). The Quality is measured
    on the disc's square, sharing the output's resize where it can.

    Raises:
      BadImageError: see load_cropped_fundus.
    """
    crop = load_cropped_fundus(path, image_size, crop_threshold, max_pixels, crop_mode)
    if crop.all_black:
        return _resized(crop.image, image_size), crop, fundus_quality.unmeasured()
    resized_square = _resized(crop.square, measured_size(image_size))
    quality = measure_quality(resized_square, crop)
    shared = crop.crop_mode == "disc" and resized_square.shape[0] == image_size
    image = resized_square if shared else _resized(crop.image, image_size)
    rows, columns = inside_frame(crop, image_size)
    visible = rows[:, None] & columns[None, :]
    if crop.crop_mode == "disc":
        visible &= fundus_disc.circle_mask(crop.disc, image_size)
    return image * visible[:, :, None].astype(np.uint8), crop, quality


def disc_mask(crop, size, share):
    """Boolean [size, size] of a crop resized to `size`: within `share` of the disc's radius and inside
    the frame by (1 - share) of the radius; a book crop's disc is the square's inscribed circle."""
    if crop.crop_mode != "disc":
        return fundus_disc.disc_region(size, share)
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
    return _resized(Image.fromarray(pixels), image_size)


def _resized(image, image_size):
    """resize_bicubic of a PIL image, as a uint8 array."""
    return np.asarray(image.resize((image_size, image_size), Image.BICUBIC))


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
        disc = fundus_disc.disc_region(side, GRAHAM_DISC_SHARE)
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
      BadImageError: `source` is not a decodable photo (PHOTO_FORMATS) within `max_pixels`.
    """
    image, crop, quality = prepare_fundus(source, image_size, crop_threshold, max_pixels, crop_mode)
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    if graham:
        image = graham_normalise(image, disc_mask(crop, image_size, GRAHAM_DISC_SHARE))
    save_jpeg_atomically(image, destination)
    if crop.all_black:
        return quality, f"every pixel is at most {crop_threshold}: kept uncropped"
    return quality, None
