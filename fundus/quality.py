"""Whether a fundus photograph can be graded, from measures taken at one fixed disc scale.

The disc, cropped to its square (fundus.disc.square_box), is resized to
QUALITY_SIZE pixels and measured on its luminance inside the central
MEASURED_SHARE of the radius and away from the frame's edges:

  exposure:  mean luminance (0-255); too dark or washed out outside its bounds;
  contrast:  spread of the detail between 1 and 4 pixels (vessels, lesions);
  sharpness: fine detail (under 1 pixel) over that detail: blur takes the fine first;
  disc_found and field: whether a disc was found, and the share of it inside the frame.

The bounds were set on ten real EyePACS photographs that Kaggle's graders graded (all
gradable, the underexposed 10_right included) against blurred, darkened, washed-out and
disc-less copies of them (docs/prepare.md, "Real cameras and gradability"; figures in docs/results.md).
"""
import csv
from collections import namedtuple

import numpy as np
from scipy import ndimage

QUALITY_SIZE = 256
MEASURED_SHARE = 0.9
# Luma weights of ITU-R BT.601.
LUMA = (0.299, 0.587, 0.114)
FINE_SIGMA = 1.0
COARSE_SIGMA = 4.0
MIN_EXPOSURE = 45.0
MAX_EXPOSURE = 190.0
MIN_CONTRAST = 1.2
MIN_SHARPNESS = 0.44

Quality = namedtuple("Quality", "gradable disc_found field exposure contrast sharpness")
MEASURES = ("disc_found", "field", "exposure", "contrast", "sharpness")
CSV_COLUMNS = ("image", "gradable") + MEASURES
PROBLEMS_COLUMN = "problems"


def gaussian_kernel(sigma):
    """The normalised 1-D Gaussian of `sigma`, truncated at 3 sigma (also used by the in-graph twin)."""
    half = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    return taps / taps.sum()


def _blur(image, sigma):
    kernel = gaussian_kernel(sigma)
    rows = ndimage.correlate1d(image, kernel, axis=0, mode="constant")
    return ndimage.correlate1d(rows, kernel, axis=1, mode="constant")


def unmeasured():
    """The Quality of a photograph without a disc to measure (all black)."""
    return Quality(False, False, 0.0, 0.0, 0.0, 0.0)


def verdict(disc_found, exposure, contrast, sharpness):
    """Whether the measures allow grading."""
    return bool(disc_found and MIN_EXPOSURE <= exposure <= MAX_EXPOSURE and contrast >= MIN_CONTRAST
                and sharpness >= MIN_SHARPNESS)


def measure(square, region, disc_found, field):
    """Returns the Quality of a disc's square (uint8 RGB, QUALITY_SIZE on a side) within `region`."""
    luminance = square.astype(np.float64) @ np.asarray(LUMA)
    fine_blur = _blur(luminance, FINE_SIGMA)
    fine = (luminance - fine_blur)[region]
    detail = (fine_blur - _blur(luminance, COARSE_SIGMA))[region]
    if fine.size == 0:
        return unmeasured()
    exposure = float(luminance[region].mean())
    contrast = float(detail.std())
    sharpness = float(fine.std() / contrast) if contrast > 0 else 0.0
    return Quality(verdict(disc_found, exposure, contrast, sharpness), bool(disc_found), float(field),
                   exposure, contrast, sharpness)


def problems(quality):
    """Returns why a photo is ungradable, one short phrase per failed measure (empty when gradable)."""
    found = [] if quality.disc_found else ["no fundus disc found"]
    if quality.exposure < MIN_EXPOSURE:
        found.append(f"too dark: exposure {quality.exposure:.0f} under {MIN_EXPOSURE:.0f}")
    if quality.exposure > MAX_EXPOSURE:
        found.append(f"washed out: exposure {quality.exposure:.0f} over {MAX_EXPOSURE:.0f}")
    if quality.contrast < MIN_CONTRAST:
        found.append(f"no detail: contrast {quality.contrast:.2f} under {MIN_CONTRAST}")
    if quality.sharpness < MIN_SHARPNESS:
        found.append(f"blurred: sharpness {quality.sharpness:.2f} under {MIN_SHARPNESS}")
    return found


def write_csv(handle, qualities, with_problems=False):
    """Writes `qualities` ({image name: Quality}) to an open text file as CSV `image,gradable,<measures>`.

    With `with_problems`, a last column says why each photo is ungradable.
    """
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS + ((PROBLEMS_COLUMN,) if with_problems else ()))
    for name, quality in sorted(qualities.items()):
        row = [name] + [_csv_value(getattr(quality, column)) for column in CSV_COLUMNS[1:]]
        writer.writerow(row + (["; ".join(problems(quality))] if with_problems else []))


def _csv_value(value):
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return round(float(value), 4)


def read_csv(path):
    """Returns {image name: Quality} from a file write_csv wrote.

    Raises:
      ValueError: the file's header is not write_csv's.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ())[:len(CSV_COLUMNS)] != CSV_COLUMNS:
            raise ValueError(f"{path}: header is not {','.join(CSV_COLUMNS)}")
        return {row["image"]: Quality(bool(int(row["gradable"])), bool(int(row["disc_found"])),
                                      *(float(row[name]) for name in MEASURES[1:])) for row in reader}
