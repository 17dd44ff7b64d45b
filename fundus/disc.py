"""The fundus disc as a circle (centre, radius) fitted to its edge, also where the frame cuts it.

A camera's photograph is a bright disc on black. The disc's edge is read on a
subsampled brightness mask: in every row the first and last bright pixel, in
every column the top- and bottom-most one. Edge points on the frame's border
are not the disc's edge (the frame cut the disc there) and are dropped. A
circle is fitted to the rest by algebraic least squares (Kasa), then refitted
to the points near it, with a tighter tolerance each round, so a camera's notch
and text in the black corners do not pull it.

Every sum is of multiples of 1/2 far below 2**50, so it is exact in float64 in
any order; the 3x3 solve is spelt out (Cramer's rule) so that the in-graph twin
(fundus/graph_preparation.py) finds the very same circle.
"""
from collections import namedtuple

import numpy as np

# The brightness mask is read at a stride that leaves about this many pixels on the frame's short side.
FIT_SIDE = 256
# Inlier tolerances of the successive fits, as a share of the radius (and at least one mask pixel).
FIT_TOLERANCES = (0.1, 0.03, 0.01)
# Ends of this many lines at one place make a straight cut, not the disc's edge (fitted_ellipse).
MIN_CUT_LINES = 5
# A disc is found when this share of the edge points lies within the last tolerance ...
MIN_INLIER_SHARE = 0.6
MIN_EDGE_POINTS = 16
# ... its radius is at least this share of half the frame's short side, and its centre is in the frame.
MIN_RADIUS_SHARE = 0.5

Disc = namedtuple("Disc", "centre_x centre_y radius found")


def brightest_channel(pixels):
    """The per-pixel maximum over the channels of an [height, width, channels] array.

    Spelt as elementwise maxima of the channel planes: numpy's max over a short last axis is
    about ten times slower.
    """
    return np.maximum.reduce([pixels[:, :, channel] for channel in range(pixels.shape[2])])


def fit_stride(height, width):
    """The subsampling stride of the brightness mask for a frame of `height` x `width` pixels."""
    return max(1, (min(height, width) + FIT_SIDE - 1) // FIT_SIDE)


def edge_points(bright):
    """Returns (x, y) arrays of the disc edge in a boolean mask, in the mask's pixel units.

    An edge point sits on the boundary between a dark and a bright pixel (a half-integer
    coordinate); points on the frame's border are dropped.
    """
    height, width = bright.shape
    columns = np.arange(width)
    rows = np.arange(height)
    row_has = bright.any(axis=1)
    column_has = bright.any(axis=0)
    first_column = np.where(bright, columns[None, :], width).min(axis=1)
    last_column = np.where(bright, columns[None, :], -1).max(axis=1)
    first_row = np.where(bright, rows[:, None], height).min(axis=0)
    last_row = np.where(bright, rows[:, None], -1).max(axis=0)
    keep = [row_has & (first_column > 0), row_has & (last_column < width - 1),
            column_has & (first_row > 0), column_has & (last_row < height - 1)]
    x = np.concatenate([first_column - 0.5, last_column + 0.5, columns, columns])
    y = np.concatenate([rows, rows, first_row - 0.5, last_row + 0.5])
    keep = np.concatenate(keep)
    return x[keep].astype(np.float64), y[keep].astype(np.float64)


def fit_circle(x, y, weights, total=np.sum, sqrt=np.sqrt):
    """Kasa's least-squares circle through the weighted points: (centre x, centre y, radius), NaN if degenerate.

    `total` and `sqrt` are the array library's sum and square root: fundus.graph_preparation passes
    TensorFlow's, so that the graph fits with the same operations in the same order.
    """
    z = x * x + y * y
    sxx, sxy, sx = total(weights * x * x), total(weights * x * y), total(weights * x)
    syy, sy, n = total(weights * y * y), total(weights * y), total(weights)
    bx, by, bz = -total(weights * x * z), -total(weights * y * z), -total(weights * z)
    determinant = sxx * (syy * n - sy * sy) - sxy * (sxy * n - sy * sx) + sx * (sxy * sy - syy * sx)
    d = (bx * (syy * n - sy * sy) - sxy * (by * n - sy * bz) + sx * (by * sy - syy * bz)) / determinant
    e = (sxx * (by * n - sy * bz) - bx * (sxy * n - sy * sx) + sx * (sxy * bz - by * sx)) / determinant
    f = (sxx * (syy * bz - by * sy) - sxy * (sxy * bz - by * sx) + bx * (sxy * sy - syy * sx)) / determinant
    centre_x, centre_y = -d / 2, -e / 2
    return centre_x, centre_y, sqrt(centre_x * centre_x + centre_y * centre_y - f)


def find_disc(pixels, threshold):
    """Finds the disc of an RGB uint8 photograph as a circle in its pixel coordinates.

    Args:
      pixels: uint8 array [height, width, 3].
      threshold: largest value (max over the channels) still counted as black.

    Returns:
      A Disc: centre and radius in pixels (a pixel's centre is at index + 0.5), and whether
      the fit is a disc (enough edge points agree, radius and centre plausible). When no fit
      is possible the frame's inscribed circle comes back, not found.
    """
    height, width = pixels.shape[:2]
    stride = fit_stride(height, width)
    bright = brightest_channel(pixels[::stride, ::stride]) > threshold
    origin_x, origin_y = bright.shape[1] // 2, bright.shape[0] // 2
    x, y = edge_points(bright)
    x, y = x - origin_x, y - origin_y
    weights = np.ones_like(x)
    centre_x = centre_y = radius = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        for tolerance in FIT_TOLERANCES:
            if weights.sum() < MIN_EDGE_POINTS:
                break
            fitted = fit_circle(x, y, weights)
            if not np.isfinite(fitted[2]):
                break
            centre_x, centre_y, radius = fitted
            distance = np.sqrt((x - centre_x) ** 2 + (y - centre_y) ** 2)
            weights = (np.abs(distance - radius) <= np.maximum(tolerance * radius, 1.0)).astype(np.float64)
    if not np.isfinite(radius):
        return Disc(width / 2, height / 2, min(height, width) / 2, False)
    # Mask pixel j is the photo's pixel j * stride, whose centre is at j * stride + 0.5.
    centre_x = (centre_x + origin_x) * stride + 0.5
    centre_y = (centre_y + origin_y) * stride + 0.5
    radius = radius * stride
    found = (weights.sum() >= max(MIN_EDGE_POINTS, MIN_INLIER_SHARE * x.size)
             and radius >= MIN_RADIUS_SHARE * min(height, width) / 2
             and 0 <= centre_x <= width and 0 <= centre_y <= height)
    return Disc(float(centre_x), float(centre_y), float(radius), bool(found))


def square_box(disc):
    """Returns (top, left, side): the integer square centred on `disc` whose side is its diameter."""
    side = max(1, int(np.floor(2 * disc.radius + 0.5)))
    left = int(np.floor(disc.centre_x - side / 2 + 0.5))
    top = int(np.floor(disc.centre_y - side / 2 + 0.5))
    return top, left, side


def circle_mask(disc, size):
    """Boolean [size, size]: the pixels of the disc's square resized to `size` whose centres lie in its circle."""
    top, left, side = square_box(disc)
    offsets = (np.arange(size) + 0.5) * (side / size)
    dy = (top + offsets - disc.centre_y) ** 2
    dx = (left + offsets - disc.centre_x) ** 2
    return dy[:, None] + dx[None, :] <= disc.radius * disc.radius


def frame_lines(start, side, length, size, margin):
    """Whether each of `size` lines sampling a square's side (from `start`, `side` long) lies in the frame.

    Line k samples the photo at start + (k + 0.5) * side / size; it is in the frame when that is
    within [margin, length - margin).
    """
    positions = start + (np.arange(size) + 0.5) * (side / size)
    return (positions >= margin) & (positions < length - margin)


def disc_region(size, share, frame_rows=None, frame_columns=None):
    """Boolean [size, size]: within `share` of the radius of a square's inscribed circle, and in the frame (the
    rows and columns of `frame_rows` and `frame_columns`; without them, the whole square)."""
    offsets = np.arange(size) + 0.5 - size / 2
    radius = share * size / 2
    inside = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius
    if frame_rows is None:
        return inside
    return inside & frame_rows[:, None] & frame_columns[None, :]


def _line_ends(bright):
    """(along, across) of the first and last bright pixel of each line (row) of `bright`, off straight cuts."""
    lines = np.flatnonzero(bright.any(axis=1))
    first = np.argmax(bright[lines], axis=1) - 0.5
    last = bright.shape[1] - 0.5 - np.argmax(bright[lines, ::-1], axis=1)
    ends, across = np.concatenate([first, last]), np.concatenate([lines, lines]) + 0.5
    # Where the frame cut the disc, many lines end at the same place: that straight edge is not the disc's.
    values, counts = np.unique(ends, return_counts=True)
    on_a_cut = np.isin(ends, values[counts >= MIN_CUT_LINES])
    return ends[~on_a_cut] + 0.5, across[~on_a_cut]


def fitted_ellipse(image, threshold):
    """Measures the disc of a prepared image: an axis-aligned ellipse through its edge.

    Ends of rows and columns that lie on a straight cut (where the frame cut the disc) are
    not the disc's edge and are left out.

    Returns:
      (axis ratio >= 1, centre x, centre y, mean diameter) in pixels.
    """
    bright = brightest_channel(image) > threshold
    row_x, row_y = _line_ends(bright)
    column_y, column_x = _line_ends(bright.T)
    x, y = np.concatenate([row_x, column_x]), np.concatenate([row_y, column_y])
    a, c, d, e = np.linalg.lstsq(np.stack([x * x, y * y, x, y], axis=1), np.ones_like(x), rcond=None)[0]
    centre_x, centre_y = -d / (2 * a), -e / (2 * c)
    scale = 1 + a * centre_x ** 2 + c * centre_y ** 2
    width, height = np.sqrt(scale / a), np.sqrt(scale / c)
    return max(width, height) / min(width, height), centre_x, centre_y, width + height
