"""Writes a small synthetic dataset in the Kaggle diabetic-retinopathy layout.

The layout is Kaggle's: `trainLabels.csv` (`image,level`, rows ordered by
patient, `{id}_left` then `{id}_right`), `train/NAME.jpeg` and, optionally,
unlabelled `test/NAME.jpeg`. Every image is built from scikit-image's real
fundus photograph (`skimage.data.retina()`, a dev/test dependency), its disc
masked to an exact circle, scaled, mirrored for the left eye, and photographed by
a camera drawn per image (`draw_camera`, from the seeded generator, so one seed
gives one sample) the way Kaggle's EyePACS cameras differ:

  frame:    3:2 (3888x2592, 4752x3168, 4928x3264) or 4:3 (2592x1944), its width
            drawn from the width range;
  fit:      `clipped`, the disc cut by the frame at the top and bottom (diameter
            1.04-1.30x the frame height; 1.28 on Kaggle's 16_left), p = 1/3;
            `touching` both, p = 1/6; else `whole`, a black margin (0.80-0.94x);
            the disc roughly centred;
  notch:    a small black triangle or rectangle cut into the rim at the right or
            top right, inside the frame, p = 1/3;
  exposure: `dark` (x0.65-0.80) p = 0.15, `bright` (x1.20-1.35) p = 0.15, else
            within 10 % of the source;
  text:     a small white date in a black corner, never on the disc, p = 0.2.

Low-level sensor noise keeps the background (everything outside the disc but
the text) at or below the book's crop threshold of 10. Lesion-like spots, drawn
inside the part of the disc the frame shows, rise in number and size with the
grade so that a short training run can learn it:

  grade 0: none;
  grade 1: a few microaneurysms (small dark-red dots);
  grade 2: more microaneurysms, some haemorrhages (dark-red blotches), a few
           hard exudates (yellowish spots);
  grade 3: many haemorrhages and exudates;
  grade 4: as grade 3, denser, plus tangles of new vessels.

Default grade weights are (0.30, 0.15, 0.25, 0.15, 0.15): Kaggle's skew towards
grade 0 (73 %) is kept in spirit but softened so a few hundred images hold every
grade. `--grade_distribution=kaggle` draws Kaggle's own frequencies instead
(73.5 / 6.9 / 15.1 / 2.5 / 2.0 %), where a grader must find the rare severe grades.
Both eyes of a patient share the patient's grade, except that one eye differs by
one grade with probability 0.2.

`geometry.csv`, beside `trainLabels.csv`, is the ground truth of every photo's
disc (train and test): `image,centre_x,centre_y,radius,camera,exposure`, the
centre in the photo's pixel coordinates (the pixel in row y, column x covers
[x, x + 1) x [y, y + 1), its centre at (x + 0.5, y + 0.5), as fundus.disc reports
discs), the radius in pixels, the camera's types joined by `+` (e.g.
`3:2+clipped+notch+dark`) and the brightness factor. Kaggle's layout tools read
only `trainLabels.csv`, `train/` and `test/`; the file is there for tests of
disc finding and gradability (`read_geometry`).

Run `python -m datasets.kaggle_sample --output_dir DIR --num_patients N`.
"""
import collections
import csv
import dataclasses
import os

import numpy as np
from absl import logging
from PIL import Image, ImageDraw, ImageFont

from utils import atomic_files
from utils.progress import ProgressLog

DEFAULT_GRADE_WEIGHTS = (0.30, 0.15, 0.25, 0.15, 0.15)
# Kaggle's own training labels (35,126 images): 73.5 / 6.9 / 15.1 / 2.5 / 2.0 %.
KAGGLE_GRADE_WEIGHTS = (0.735, 0.069, 0.151, 0.025, 0.020)
GRADE_DISTRIBUTIONS = {"sample": DEFAULT_GRADE_WEIGHTS, "kaggle": KAGGLE_GRADE_WEIGHTS}
DEFAULT_WIDTH_RANGE = (2000, 3000)
# Kaggle's cameras: 3:2 (e.g. 3888x2592) and 4:3 (e.g. 2592x1944) frames.
ASPECT_RATIOS = {"3:2": 1.5, "4:3": 4 / 3}
EYE_GRADE_DIFFERS_PROBABILITY = 0.2
JPEG_QUALITY = 90
GEOMETRY_CSV = "geometry.csv"
# Disc diameter over frame height per fit; a clipped disc stays narrower than a 4:3 frame.
CLIPPED_DIAMETERS = (1.04, 1.30)
WHOLE_DIAMETERS = (0.80, 0.94)
EXPOSURES = {"dark": (0.65, 0.80), "bright": (1.20, 1.35), "normal": (0.90, 1.10)}
# The source's disc edge fades over a few pixels; the mask cuts just inside it, so the disc is one exact circle.
SOURCE_DISC_SHRINK = 0.985
# Mean lesion counts per grade; the counts drawn are Poisson around them.
MICROANEURYSMS = (0, 6, 12, 16, 20)
HAEMORRHAGES = (0, 0, 4, 10, 16)
EXUDATES = (0, 0, 4, 10, 16)
NEW_VESSEL_TANGLES = (0, 0, 0, 0, 3)
DARK_RED = (95, 18, 12)
YELLOW = (235, 205, 95)


@dataclasses.dataclass(frozen=True)
class CameraMix:
    """How often each camera type is drawn, per photo; a disc neither clipped nor touching is whole."""
    clipped: float = 1 / 3
    touching: float = 1 / 6
    notch: float = 1 / 3
    text: float = 0.2
    dark: float = 0.15
    bright: float = 0.15


DEFAULT_CAMERA_MIX = CameraMix()

DiscGeometry = collections.namedtuple("DiscGeometry", "centre_x centre_y radius camera exposure")
DiscGeometry.__doc__ = "One photo's disc: centre (x, y) and radius in its pixels, camera types, brightness factor."


@dataclasses.dataclass(frozen=True)
class Notch:
    """A cut-in at the disc rim: `angle` in degrees anticlockwise from the right, sizes in radii."""
    angle: float
    shape: str
    width: float
    depth: float


@dataclasses.dataclass(frozen=True)
class Label:
    """Text the camera prints in a black corner: drawn at (x, y) in a font of `size` pixels."""
    text: str
    x: int
    y: int
    size: int
    grey: int


@dataclasses.dataclass(frozen=True)
class Camera:
    """How one photo is taken: the frame, where the disc's square lies in it (it may reach outside), and extras."""
    frame: str
    width: int
    height: int
    left: int
    top: int
    diameter: int
    fit: str
    exposure: float
    notch: "Notch | None" = None
    label: "Label | None" = None

    @property
    def geometry(self):
        """The disc's ground truth (a DiscGeometry) in this camera's photo."""
        exposure_type = [name for name in ("dark", "bright") if _within(self.exposure, EXPOSURES[name])]
        types = [self.frame, self.fit] + ["notch"] * bool(self.notch) + exposure_type + ["text"] * bool(self.label)
        return DiscGeometry(self.left + self.diameter / 2, self.top + self.diameter / 2, self.diameter / 2,
                            "+".join(types), self.exposure)


def _within(value, bounds):
    return bounds[0] <= value <= bounds[1]


def load_retina():
    """Returns scikit-image's fundus photograph as a PIL image (1411x1411, black corners)."""
    from skimage import data

    return Image.fromarray(data.retina())


def draw_grade_grid(num_patients, rng, grade_weights=DEFAULT_GRADE_WEIGHTS):
    """Returns [(left grade, right grade)] per patient: mostly equal, one grade apart sometimes."""
    weights = np.asarray(grade_weights, dtype=float)
    patient_grades = rng.choice(len(weights), size=num_patients, p=weights / weights.sum())
    eyes = []
    for grade in patient_grades:
        other = grade
        if rng.random() < EYE_GRADE_DIFFERS_PROBABILITY:
            other = int(np.clip(grade + rng.choice((-1, 1)), 0, len(weights) - 1))
        eyes.append((int(grade), int(other)) if rng.random() < 0.5 else (int(other), int(grade)))
    return eyes


def _random_point_in_disc(rng, diameter, rows):
    """A point uniformly inside the central 80 % of a disc of `diameter` pixels, with y in `rows`."""
    while True:
        radius = 0.4 * diameter * np.sqrt(rng.random())
        angle = rng.uniform(0, 2 * np.pi)
        centre = diameter / 2
        x, y = centre + radius * np.cos(angle), centre + radius * np.sin(angle)
        if rows[0] <= y <= rows[1]:
            return x, y


def _draw_spots(draw, rng, count, diameter, rows, radius_range, colour):
    for _ in range(count):
        x, y = _random_point_in_disc(rng, diameter, rows)
        rx, ry = diameter * rng.uniform(*radius_range, size=2)
        shade = rng.uniform(0.85, 1.15)
        draw.ellipse((x - rx, y - ry, x + rx, y + ry),
                     fill=tuple(int(min(255, channel * shade)) for channel in colour))


def _draw_new_vessels(draw, rng, count, diameter, rows):
    for _ in range(count):
        x, y = _random_point_in_disc(rng, diameter, rows)
        step = diameter * 0.012
        points = [(x, y)]
        for _ in range(12):
            x, y = x + rng.uniform(-step, step), y + rng.uniform(-step, step)
            points.append((x, y))
        draw.line(points, fill=DARK_RED, width=max(1, int(diameter * 0.003)))


def draw_lesions(disc, grade, rng, visible_rows=None):
    """Draws the grade's lesion-like spots on `disc` (a square PIL image) in place.

    Args:
      disc: the disc's square image.
      grade: 0..4.
      rng: a numpy Generator.
      visible_rows: (first, last) rows of `disc` that the photo's frame shows;
        lesions stay at least 5 % of the diameter inside them. All rows if None.
    """
    diameter = disc.size[0]
    first, last = visible_rows if visible_rows else (0, diameter - 1)
    margin = 0.05 * diameter
    rows = (first + margin, last - margin)
    draw = ImageDraw.Draw(disc)
    _draw_spots(draw, rng, rng.poisson(MICROANEURYSMS[grade]), diameter, rows, (0.004, 0.007), DARK_RED)
    _draw_spots(draw, rng, rng.poisson(HAEMORRHAGES[grade]), diameter, rows, (0.012, 0.025), DARK_RED)
    _draw_spots(draw, rng, rng.poisson(EXUDATES[grade]), diameter, rows, (0.006, 0.012), YELLOW)
    _draw_new_vessels(draw, rng, rng.poisson(NEW_VESSEL_TANGLES[grade]), diameter, rows)


def _roughly_centred(rng, spare):
    """Where the disc starts: cameras centre it roughly, at most a quarter of the `spare` pixels off the middle."""
    return int(round(spare / 2 + rng.uniform(-0.25, 0.25) * spare))


def _draw_fit(rng, width, height, mix):
    """Returns (fit, diameter, top): the disc clipped at top and bottom, touching both, or whole."""
    draw = rng.random()
    if draw < mix.clipped:
        diameter = min(int(height * rng.uniform(*CLIPPED_DIAMETERS)), width - 2)
        overhang = max(diameter - height, 2)
        diameter = height + overhang
        return "clipped", diameter, -int(np.clip(round(overhang * rng.uniform(0.3, 0.7)), 1, overhang - 1))
    if draw < mix.clipped + mix.touching:
        return "touching", height, 0
    diameter = int(height * rng.uniform(*WHOLE_DIAMETERS))
    return "whole", diameter, _roughly_centred(rng, height - diameter)


def _draw_exposure(rng, mix):
    draw = rng.random()
    kind = "dark" if draw < mix.dark else "bright" if draw < mix.dark + mix.bright else "normal"
    return round(float(rng.uniform(*EXPOSURES[kind])), 4)


def _draw_notch(rng, centre_y, radius):
    """A notch at the right or top right whose cut lies inside the frame, a pixel below its top."""
    width, depth = rng.uniform(0.06, 0.12), rng.uniform(0.04, 0.08)
    highest = np.clip((centre_y - 1) / radius - width, 0, 1)
    angle = rng.uniform(0, min(60.0, np.degrees(np.arcsin(highest))))
    return Notch(round(float(angle), 2), str(rng.choice(("triangle", "rectangle"))), width, depth)


def _font(size):
    return ImageFont.load_default(size=size)


def _draw_label(rng, width, height, centre_x, centre_y, radius):
    """A date in a corner whose ink keeps a margin from the frame's edge and the disc; None if none fits."""
    text = f"{rng.integers(2008, 2015)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
    size = max(8, round(0.03 * height))
    margin = max(8, round(0.02 * height))
    x0, y0, x1, y1 = _font(size).getbbox(text)
    grey = int(rng.integers(200, 256))
    for corner in rng.permutation(4):
        x = margin - x0 if corner % 2 == 0 else width - margin - x1
        y = margin - y0 if corner < 2 else height - margin - y1
        nearest_x = np.clip(centre_x, x + x0, x + x1)
        nearest_y = np.clip(centre_y, y + y0, y + y1)
        if np.hypot(nearest_x - centre_x, nearest_y - centre_y) >= radius + margin:
            return Label(text, int(x), int(y), size, grey)
    return None


def draw_camera(rng, width_range=DEFAULT_WIDTH_RANGE, camera_mix=DEFAULT_CAMERA_MIX):
    """Draws how one photo is taken: frame, fit of the disc, exposure, notch and text.

    Args:
      rng: a numpy Generator.
      width_range: (min, max) frame width in pixels.
      camera_mix: a CameraMix, how often each type is drawn.

    Returns:
      A Camera; its `geometry` is the disc's ground truth.
    """
    width = int(rng.integers(width_range[0], width_range[1] + 1))
    frame = list(ASPECT_RATIOS)[rng.integers(len(ASPECT_RATIOS))]
    height = int(round(width / ASPECT_RATIOS[frame]))
    fit, diameter, top = _draw_fit(rng, width, height, camera_mix)
    left = _roughly_centred(rng, width - diameter)
    exposure = _draw_exposure(rng, camera_mix)
    centre_x, centre_y, radius = left + diameter / 2, top + diameter / 2, diameter / 2
    notch = _draw_notch(rng, centre_y, radius) if rng.random() < camera_mix.notch else None
    label = _draw_label(rng, width, height, centre_x, centre_y, radius) if rng.random() < camera_mix.text else None
    return Camera(frame, width, height, left, top, diameter, fit, exposure, notch, label)


def _disc_square(retina, diameter):
    """The source's disc, its circle scaled to fill a `diameter`-pixel square."""
    left, top, right, bottom = retina.point(lambda value: 255 * (value > 10)).getbbox()
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    radius = SOURCE_DISC_SHRINK * (right - left + bottom - top) / 4
    box = (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)
    return retina.resize((diameter, diameter), Image.BILINEAR, box=box)


def _disc_mask(diameter, notch):
    """An `L` image: 255 inside the disc's circle, 0 outside it and in the notch; the rim anti-aliased."""
    centre, radius = (diameter - 1) / 2, diameter / 2
    offsets = np.arange(diameter, dtype=np.float32) - centre
    distance = np.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2)
    mask = Image.fromarray(np.round(255 * np.clip(radius - distance + 0.5, 0, 1)).astype(np.uint8))
    if notch:
        angle = np.radians(notch.angle)
        inward, along = np.array([-np.cos(angle), np.sin(angle)]), np.array([np.sin(angle), np.cos(angle)])
        rim = centre - radius * inward
        outer, half, depth = rim - 2 * inward, notch.width * radius / 2, notch.depth * radius
        if notch.shape == "triangle":
            corners = (outer + half * along, rim + depth * inward, outer - half * along)
        else:
            corners = (outer + half * along, rim + half * along + depth * inward,
                       rim - half * along + depth * inward, outer - half * along)
        ImageDraw.Draw(mask).polygon([tuple(corner) for corner in corners], fill=0)
    return mask


def photograph(retina, grade, eye, rng, camera):
    """Returns the photo `camera` takes of the source disc with the grade's lesions, as an RGB uint8 array.

    Args:
      retina: the source fundus photograph (PIL image, square, black corners).
      grade: 0..4, how many lesion-like spots to draw.
      eye: `left` (mirrored) or `right`.
      rng: a numpy Generator (draws the lesions and the noise).
      camera: a Camera from `draw_camera`.
    """
    diameter, top = camera.diameter, camera.top
    disc = _disc_square(retina, diameter)
    if eye == "left":
        disc = disc.transpose(Image.FLIP_LEFT_RIGHT)
    draw_lesions(disc, grade, rng, (max(0, -top), min(diameter, camera.height - top) - 1))
    disc = disc.point([min(255, int(value * camera.exposure)) for value in range(256)] * 3)
    photo = Image.new("RGB", (camera.width, camera.height))
    photo.paste(disc, (camera.left, top), _disc_mask(diameter, camera.notch))
    canvas = np.asarray(photo, dtype=np.int16) + rng.integers(-3, 4, size=(camera.height, camera.width, 1),
                                                              dtype=np.int16)
    photo = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if camera.label:
        label = camera.label
        ImageDraw.Draw(photo).text((label.x, label.y), label.text, fill=(label.grey,) * 3, font=_font(label.size))
    return np.asarray(photo)


def make_fundus_image(retina, grade, eye, rng, width_range=DEFAULT_WIDTH_RANGE, camera_mix=DEFAULT_CAMERA_MIX):
    """Returns one Kaggle-like fundus photograph, from a camera drawn with `rng`, as an RGB uint8 array.

    Args:
      retina: the source fundus photograph (PIL image, square, black corners).
      grade: 0..4, how many lesion-like spots to draw.
      eye: `left` (mirrored) or `right`.
      rng: a numpy Generator.
      width_range: (min, max) frame width in pixels.
      camera_mix: a CameraMix, how often each camera type is drawn.

    Returns:
      An array of shape (height, width, 3): the disc on black, as `draw_camera` drew the camera.
    """
    return photograph(retina, grade, eye, rng, draw_camera(rng, width_range, camera_mix))


def _patient_ids(num_patients, rng, first_id=10):
    """Increasing ids with gaps, like Kaggle's (10, 13, 15, 16, ...)."""
    gaps = rng.integers(1, 4, size=num_patients)
    gaps[0] = 0
    return first_id + np.cumsum(gaps)


def _save_jpeg(array, path):
    with atomic_files.atomic_path(path) as temporary:
        Image.fromarray(array).save(temporary, format="JPEG", quality=JPEG_QUALITY)


def write_geometry(path, geometry):
    """Writes {image name: DiscGeometry} as GEOMETRY_CSV rows in the dict's order."""
    with atomic_files.open_atomically(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image",) + DiscGeometry._fields)
        writer.writerows((name,) + tuple(disc) for name, disc in geometry.items())


def read_geometry(dataset_dir):
    """Returns {image name: DiscGeometry} from `dataset_dir`'s GEOMETRY_CSV."""
    with open(os.path.join(dataset_dir, GEOMETRY_CSV), newline="") as handle:
        return {row["image"]: DiscGeometry(float(row["centre_x"]), float(row["centre_y"]), float(row["radius"]),
                                           row["camera"], float(row["exposure"])) for row in csv.DictReader(handle)}


def write_kaggle_sample(output_dir, num_patients, image_width_range=DEFAULT_WIDTH_RANGE, seed=0,
                        with_test=False, grade_weights=DEFAULT_GRADE_WEIGHTS, camera_mix=DEFAULT_CAMERA_MIX):
    """Writes `trainLabels.csv`, `geometry.csv`, `train/*.jpeg` and optionally `test/*.jpeg` under `output_dir`.

    Args:
      output_dir: folder to write into (created if needed).
      num_patients: number of labelled patients (two images each).
      image_width_range: (min, max) image width in pixels; Kaggle's run from
        about 2,000 to 5,000, tests use a few hundred.
      seed: makes the sample reproducible.
      with_test: also write unlabelled `test/` images for max(1, num_patients // 4)
        further patients.
      grade_weights: relative frequency of grades 0..4 among patients.
      camera_mix: a CameraMix, how often each camera type is drawn.

    Returns:
      {"train": [(image name, grade)], "test": [image name], "geometry": {image name: DiscGeometry}},
      in CSV order; trainLabels.csv is written last.
    """
    rng = np.random.default_rng(seed)
    retina = load_retina()
    num_test_patients = max(1, num_patients // 4) if with_test else 0
    ids = _patient_ids(num_patients + num_test_patients, rng)
    grades = draw_grade_grid(num_patients + num_test_patients, rng, grade_weights)
    jobs = []
    for index, (patient, eye_grades) in enumerate(zip(ids, grades)):
        split = "train" if index < num_patients else "test"
        for eye, grade in zip(("left", "right"), eye_grades):
            jobs.append((split, f"{patient}_{eye}", eye, grade))
    for split in {split for split, _, _, _ in jobs}:
        os.makedirs(os.path.join(output_dir, split), exist_ok=True)
    progress = ProgressLog(len(jobs))
    geometry = {}
    for split, name, eye, grade in jobs:
        camera = draw_camera(rng, image_width_range, camera_mix)
        _save_jpeg(photograph(retina, grade, eye, rng, camera), os.path.join(output_dir, split, name + ".jpeg"))
        geometry[name] = camera.geometry
        progress.update(1)
    logging.info("wrote %s", progress.line())
    write_geometry(os.path.join(output_dir, GEOMETRY_CSV), geometry)
    labels = [(name, grade) for split, name, _, grade in jobs if split == "train"]
    labels_path = os.path.join(output_dir, "trainLabels.csv")
    with atomic_files.open_atomically(labels_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image", "level"))
        writer.writerows(labels)
    return {"train": labels, "test": [name for split, name, _, _ in jobs if split == "test"], "geometry": geometry}


def grade_weights_from(spec):
    """Returns grade weights from a GRADE_DISTRIBUTIONS name or five comma-separated numbers.

    Raises:
      ValueError: neither, or a negative weight, or all zero.
    """
    if spec in GRADE_DISTRIBUTIONS:
        return GRADE_DISTRIBUTIONS[spec]
    try:
        weights = tuple(float(weight) for weight in spec.split(","))
    except ValueError:
        weights = ()
    if len(weights) != 5 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"--grade_distribution={spec}: expected {' or '.join(GRADE_DISTRIBUTIONS)} or five "
                         "comma-separated non-negative weights")
    return weights


def main(argv):
    from absl import flags

    del argv
    options = flags.FLAGS
    try:
        weights = grade_weights_from(options.grade_distribution)
    except ValueError as error:
        raise SystemExit(f"kaggle_sample: {error}") from None
    written = write_kaggle_sample(options.output_dir, options.num_patients,
                                  (options.min_width, options.max_width), options.seed, options.with_test,
                                  weights)
    print(f"wrote {len(written['train'])} labelled and {len(written['test'])} test images "
          f"to {options.output_dir}")


def define_flags():
    """Defines this module's command-line flags (only when run as a script)."""
    from absl import flags

    flags.DEFINE_string("output_dir", None, "Folder to write the Kaggle-layout sample into.")
    flags.DEFINE_integer("num_patients", 20, "Labelled patients (two images each).")
    flags.DEFINE_integer("min_width", DEFAULT_WIDTH_RANGE[0], "Smallest image width in pixels.")
    flags.DEFINE_integer("max_width", DEFAULT_WIDTH_RANGE[1], "Largest image width in pixels.")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_boolean("with_test", False, "Also write unlabelled test/ images.")
    flags.DEFINE_string("grade_distribution", "sample", "Grade frequencies among patients: 'sample' (softened, "
                        "every grade well represented), 'kaggle' (73.5/6.9/15.1/2.5/2.0 %) or five weights.")
    flags.mark_flag_as_required("output_dir")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
