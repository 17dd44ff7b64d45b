"""Degraded copies of a fundus photograph: the cases a gradability verdict must refuse.

Each takes and returns a PIL RGB image of the whole camera frame. They are what
fundus.quality's bounds were set against (with ten real photographs graded by
Kaggle's graders) and what the tests and bench/bench_real_photos.py check.
"""
import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

# Gaussian blur radius as a share of the frame's width (out of focus: vessels and lesions smeared).
BLUR_SHARE = 1 / 150
DARKEN_FACTOR = 0.25
# Share of white blended into the disc (an overexposed flash); the black border is kept.
WASH_SHARE = 0.65
# A close-up of the disc's middle, this share of the frame's height: no rim anywhere.
CLOSE_UP_SHARE = 0.4


def blurred(photo):
    return photo.filter(ImageFilter.GaussianBlur(photo.width * BLUR_SHARE))


def darkened(photo):
    return ImageEnhance.Brightness(photo).enhance(DARKEN_FACTOR)


def washed_out(photo, threshold=10):
    pixels = np.asarray(photo, dtype=np.float64)
    disc = pixels.max(axis=2, keepdims=True) > threshold
    return Image.fromarray(np.uint8(np.where(disc, (1 - WASH_SHARE) * pixels + WASH_SHARE * 255, pixels)))


def disc_less(photo):
    """The frame filled by a close-up of the middle of the photo."""
    half_height = CLOSE_UP_SHARE * photo.height / 2
    half_width = half_height * photo.width / photo.height
    centre_x, centre_y = photo.width / 2, photo.height / 2
    box = tuple(int(round(value)) for value in (centre_x - half_width, centre_y - half_height,
                                                 centre_x + half_width, centre_y + half_height))
    return photo.crop(box).resize(photo.size, Image.BICUBIC)


# Name -> (degradation, the phrase of fundus.quality.problems that must name it).
DEGRADATIONS = {"blurred": (blurred, "blurred"), "darkened": (darkened, "too dark"),
                "washed_out": (washed_out, "washed out"), "disc_less": (disc_less, "no fundus disc found")}
