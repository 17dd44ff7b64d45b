"""Writes a small synthetic dataset in the Kaggle diabetic-retinopathy layout.

The layout is Kaggle's: `trainLabels.csv` (`image,level`, rows ordered by
patient, `{id}_left` then `{id}_right`), `train/NAME.jpeg` and, optionally,
unlabelled `test/NAME.jpeg`. Every image is built from scikit-image's real
fundus photograph (`skimage.data.retina()`, a dev/test dependency): a black
canvas of Kaggle-like size and aspect ratio, the disc scaled, mirrored for the
left eye and placed at an offset, low-level sensor noise (the background stays
at or below the book's crop threshold of 10), and lesion-like spots whose number
and size rise with the grade so that a short training run can learn it:

  grade 0: none;
  grade 1: a few microaneurysms (small dark-red dots);
  grade 2: more microaneurysms, some haemorrhages (dark-red blotches), a few
           hard exudates (yellowish spots);
  grade 3: many haemorrhages and exudates;
  grade 4: as grade 3, denser, plus tangles of new vessels.

Default grade weights are (0.30, 0.15, 0.25, 0.15, 0.15): Kaggle's skew towards
grade 0 (73 %) is kept in spirit but softened so a few hundred images hold every
grade. `--grade_distribution=kaggle` draws Kaggle's own frequencies instead
(73.5 / 6.9 / 15.1 / 2.5 / 2.0 %), where a grader must find the rare severe grades. Both eyes of a patient share the patient's grade, except that one eye
differs by one grade with probability 0.2.

Run `python -m datasets.kaggle_sample --output_dir DIR --num_patients N`.
"""
import csv
import os

import numpy as np
from absl import logging
from PIL import Image, ImageDraw

from utils import atomic_files
from utils.progress import ProgressLog

DEFAULT_GRADE_WEIGHTS = (0.30, 0.15, 0.25, 0.15, 0.15)
# Kaggle's own training labels (35,126 images): 73.5 / 6.9 / 15.1 / 2.5 / 2.0 %.
KAGGLE_GRADE_WEIGHTS = (0.735, 0.069, 0.151, 0.025, 0.020)
GRADE_DISTRIBUTIONS = {"sample": DEFAULT_GRADE_WEIGHTS, "kaggle": KAGGLE_GRADE_WEIGHTS}
DEFAULT_WIDTH_RANGE = (2000, 3000)
# Kaggle's cameras: 3:2 (e.g. 3888x2592) and 4:3 (e.g. 2592x1944) frames.
ASPECT_RATIOS = (1.5, 4 / 3)
EYE_GRADE_DIFFERS_PROBABILITY = 0.2
JPEG_QUALITY = 90
# Mean lesion counts per grade; the counts drawn are Poisson around them.
MICROANEURYSMS = (0, 6, 12, 16, 20)
HAEMORRHAGES = (0, 0, 4, 10, 16)
EXUDATES = (0, 0, 4, 10, 16)
NEW_VESSEL_TANGLES = (0, 0, 0, 0, 3)
DARK_RED = (95, 18, 12)
YELLOW = (235, 205, 95)


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


def _random_point_in_disc(rng, diameter):
    """A point uniformly inside the central 80 % of a disc of `diameter` pixels."""
    radius = 0.4 * diameter * np.sqrt(rng.random())
    angle = rng.uniform(0, 2 * np.pi)
    centre = diameter / 2
    return centre + radius * np.cos(angle), centre + radius * np.sin(angle)


def _draw_spots(draw, rng, count, diameter, radius_range, colour):
    for _ in range(count):
        x, y = _random_point_in_disc(rng, diameter)
        rx, ry = diameter * rng.uniform(*radius_range, size=2)
        shade = rng.uniform(0.85, 1.15)
        draw.ellipse((x - rx, y - ry, x + rx, y + ry),
                     fill=tuple(int(min(255, channel * shade)) for channel in colour))


def _draw_new_vessels(draw, rng, count, diameter):
    for _ in range(count):
        x, y = _random_point_in_disc(rng, diameter)
        step = diameter * 0.012
        points = [(x, y)]
        for _ in range(12):
            x, y = x + rng.uniform(-step, step), y + rng.uniform(-step, step)
            points.append((x, y))
        draw.line(points, fill=DARK_RED, width=max(1, int(diameter * 0.003)))


def draw_lesions(disc, grade, rng):
    """Draws the grade's lesion-like spots on `disc` (a square PIL image) in place."""
    diameter = disc.size[0]
    draw = ImageDraw.Draw(disc)
    _draw_spots(draw, rng, rng.poisson(MICROANEURYSMS[grade]), diameter, (0.004, 0.007), DARK_RED)
    _draw_spots(draw, rng, rng.poisson(HAEMORRHAGES[grade]), diameter, (0.012, 0.025), DARK_RED)
    _draw_spots(draw, rng, rng.poisson(EXUDATES[grade]), diameter, (0.006, 0.012), YELLOW)
    _draw_new_vessels(draw, rng, rng.poisson(NEW_VESSEL_TANGLES[grade]), diameter)


def make_fundus_image(retina, grade, eye, rng, width_range=DEFAULT_WIDTH_RANGE):
    """Returns one Kaggle-like fundus photograph as an RGB uint8 array.

    Args:
      retina: the source fundus photograph (PIL image, square, black corners).
      grade: 0..4, how many lesion-like spots to draw.
      eye: `left` (mirrored) or `right`.
      rng: a numpy Generator.
      width_range: (min, max) canvas width in pixels.

    Returns:
      An array of shape (height, width, 3), black around a disc at an offset.
    """
    width = int(rng.integers(width_range[0], width_range[1] + 1))
    height = int(round(width / ASPECT_RATIOS[rng.integers(len(ASPECT_RATIOS))]))
    diameter = int(height * rng.uniform(0.85, 0.98))
    disc = retina.resize((diameter, diameter), Image.BILINEAR)
    if eye == "left":
        disc = disc.transpose(Image.FLIP_LEFT_RIGHT)
    draw_lesions(disc, grade, rng)
    canvas = np.zeros((height, width, 3), dtype=np.int16)
    left = int(rng.integers(0, width - diameter + 1))
    top = int(rng.integers(0, height - diameter + 1))
    brightness = rng.uniform(0.8, 1.15)
    canvas[top:top + diameter, left:left + diameter] = np.asarray(disc, dtype=np.float32) * brightness
    canvas += rng.integers(-3, 4, size=(height, width, 1), dtype=np.int16)
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _patient_ids(num_patients, rng, first_id=10):
    """Increasing ids with gaps, like Kaggle's (10, 13, 15, 16, ...)."""
    gaps = rng.integers(1, 4, size=num_patients)
    gaps[0] = 0
    return first_id + np.cumsum(gaps)


def _save_jpeg(array, path):
    with atomic_files.atomic_path(path) as temporary:
        Image.fromarray(array).save(temporary, format="JPEG", quality=JPEG_QUALITY)


def write_kaggle_sample(output_dir, num_patients, image_width_range=DEFAULT_WIDTH_RANGE, seed=0,
                        with_test=False, grade_weights=DEFAULT_GRADE_WEIGHTS):
    """Writes `trainLabels.csv`, `train/*.jpeg` and optionally `test/*.jpeg` under `output_dir`.

    Args:
      output_dir: folder to write into (created if needed).
      num_patients: number of labelled patients (two images each).
      image_width_range: (min, max) image width in pixels; Kaggle's run from
        about 2,000 to 5,000, tests use a few hundred.
      seed: makes the sample reproducible.
      with_test: also write unlabelled `test/` images for max(1, num_patients // 4)
        further patients.
      grade_weights: relative frequency of grades 0..4 among patients.

    Returns:
      {"train": [(image name, grade)], "test": [image name]} in CSV order.
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
    for split, name, eye, grade in jobs:
        image = make_fundus_image(retina, grade, eye, rng, image_width_range)
        _save_jpeg(image, os.path.join(output_dir, split, name + ".jpeg"))
        progress.update(1)
    logging.info("wrote %s", progress.line())
    labels = [(name, grade) for split, name, _, grade in jobs if split == "train"]
    labels_path = os.path.join(output_dir, "trainLabels.csv")
    with atomic_files.open_atomically(labels_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("image", "level"))
        writer.writerows(labels)
    return {"train": labels, "test": [name for split, name, _, _ in jobs if split == "test"]}


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
