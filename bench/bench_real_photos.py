r"""Real camera photographs through the preparation: disc geometry and gradability per photo, and a contact sheet.

Every photograph of a Kaggle-layout folder (`train/*.jpeg`, `test/*.jpeg`) is prepared
as the conversion prepares it (fundus_preparation.preprocess_fundus, --crop_mode disc and book).
Per photo it prints the disc of the prepared image as measured on its pixels (an ellipse
fitted to the edge: axis ratio, centre offset from the middle and diameter, both as a
share of the side) and the gradability verdict with its measures. With --degrade, a
blurred, a darkened, a washed-out and a disc-less copy of each photo (fundus.degradations)
are judged too: the originals should all be gradable, the copies none. The contact sheet
shows every prepared photo with its figures.

    python bench/bench_real_photos.py --photos DIR --sheet real_photos.png
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fundus import preparation as fundus_preparation  # noqa: E402
from fundus import degradations  # noqa: E402
from fundus import disc as fundus_disc  # noqa: E402
from fundus import quality as fundus_quality  # noqa: E402
import results_file  # noqa: E402

flags.DEFINE_string("photos", None, "A Kaggle-layout folder (train/ and/or test/ of JPEG photographs).")
flags.DEFINE_integer("image_size", fundus_preparation.DEFAULT_IMAGE_SIZE, "Side of the prepared images.")
flags.DEFINE_string("sheet", "real_photos.png", "Where to write the contact sheet (PNG).")
flags.DEFINE_boolean("degrade", True, "Also judge degraded copies of every photo.")
flags.mark_flag_as_required("photos")
results_file.define_flag()
FLAGS = flags.FLAGS

TILE = 200
CAPTION_LINES = 3
LINE_HEIGHT = 13


def list_photos(folder):
    """Returns the sorted paths of the JPEGs in `folder`/train and `folder`/test.

    Raises:
      ValueError: the folder is absent or holds no photograph.
    """
    paths = [os.path.join(folder, split, name) for split in ("train", "test")
             if os.path.isdir(os.path.join(folder, split))
             for name in sorted(os.listdir(os.path.join(folder, split))) if name.lower().endswith((".jpeg", ".jpg"))]
    if not paths:
        raise ValueError(f"--photos={folder}: no train/*.jpeg or test/*.jpeg here (a Kaggle-layout folder)")
    return paths


def prepare(source, destination, crop_mode):
    """Prepares one photo; returns (its Quality, the disc measured on the prepared pixels, seconds)."""
    start = time.perf_counter()
    quality, _ = fundus_preparation.preprocess_fundus(source, destination, FLAGS.image_size, crop_mode=crop_mode)
    seconds = time.perf_counter() - start
    prepared = np.asarray(Image.open(destination).convert("RGB"))
    return quality, fundus_disc.fitted_ellipse(prepared, fundus_preparation.DEFAULT_CROP_THRESHOLD), seconds


def geometry_row(name, size, ellipse):
    ratio, centre_x, centre_y, diameter = ellipse
    offset = np.hypot(centre_x - size / 2, centre_y - size / 2) / size
    return f"{name:<16} {ratio:6.3f} {100 * offset:7.2f} % {100 * diameter / size:7.1f} %"


def quality_row(quality):
    verdict = "gradable" if quality.gradable else "UNGRADABLE"
    return (f"{verdict:<11} exposure {quality.exposure:6.1f} contrast {quality.contrast:5.2f} "
            f"sharpness {quality.sharpness:5.3f} field {quality.field:4.2f}")


def write_sheet(tiles, path):
    """A contact sheet of (prepared image path, caption lines) tiles, five to a row, written atomically."""
    columns = 5
    rows = (len(tiles) + columns - 1) // columns
    tile_height = TILE + CAPTION_LINES * LINE_HEIGHT + 6
    sheet = Image.new("RGB", (columns * TILE, rows * tile_height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, (image_path, caption) in enumerate(tiles):
        left, top = (index % columns) * TILE, (index // columns) * tile_height
        sheet.paste(Image.open(image_path).convert("RGB").resize((TILE, TILE), Image.BICUBIC), (left, top))
        for line_number, line in enumerate(caption):
            draw.text((left + 3, top + TILE + 2 + line_number * LINE_HEIGHT), line, fill=(0, 0, 0))
    temporary = path + ".tmp.png"
    sheet.save(temporary, format="PNG")
    os.replace(temporary, path)


def run(work_dir):
    photos = list_photos(FLAGS.photos)
    size = FLAGS.image_size
    print(f"{len(photos)} photographs from {FLAGS.photos}, prepared at {size} px")
    print(f"{'photo':<16} {'ratio':>6} {'offset':>9} {'diameter':>9}  (disc mode; book mode's ratio after |)")
    tiles, seconds, ratios, offsets, verdicts = [], [], [], [], []
    for source in photos:
        name = os.path.splitext(os.path.basename(source))[0]
        destination = os.path.join(work_dir, name + ".jpeg")
        quality, ellipse, took = prepare(source, destination, "disc")
        _, book_ellipse, _ = prepare(source, os.path.join(work_dir, name + "_book.jpeg"), "book")
        seconds.append(took)
        ratios.append(ellipse[0])
        offsets.append(np.hypot(ellipse[1] - size / 2, ellipse[2] - size / 2) / size)
        verdicts.append(quality.gradable)
        print(f"{geometry_row(name, size, ellipse)} | {book_ellipse[0]:5.3f}  {quality_row(quality)}")
        tiles.append((destination, [name, f"ratio {ellipse[0]:.3f} (book {book_ellipse[0]:.3f})",
                                    "gradable" if quality.gradable else "UNGRADABLE"]))
    print(f"disc mode: axis ratio max {max(ratios):.3f}, centre offset max {100 * max(offsets):.2f} % of the side; "
          f"{sum(verdicts)} of {len(verdicts)} gradable; {1000 * np.mean(seconds):.0f} ms per photo")
    if FLAGS.degrade:
        judge_degraded_copies(photos, work_dir)
    write_sheet(tiles, FLAGS.sheet)
    print(f"contact sheet: {FLAGS.sheet}")


def judge_degraded_copies(photos, work_dir):
    """Prints the verdict on each degraded copy of each photo, and how many were refused per degradation."""
    refused = {name: 0 for name in degradations.DEGRADATIONS}
    for source in photos:
        photo = Image.open(source).convert("RGB")
        name = os.path.splitext(os.path.basename(source))[0]
        for degradation, (degrade, _) in degradations.DEGRADATIONS.items():
            copy = os.path.join(work_dir, f"{name}__{degradation}.jpeg")
            degrade(photo).save(copy, format="JPEG", quality=90)
            quality, _ = fundus_preparation.preprocess_fundus(copy, copy + ".prepared.jpeg", FLAGS.image_size)
            refused[degradation] += not quality.gradable
            problems = "; ".join(fundus_quality.problems(quality)) or "-"
            print(f"{name + '__' + degradation:<28} {quality_row(quality)}  {problems}")
    print("degraded copies refused: " + ", ".join(f"{name} {count}/{len(photos)}" for name, count in refused.items()))


def main(_):
    try:
        with tempfile.TemporaryDirectory() as work_dir:
            run(work_dir)
    except ValueError as error:
        sys.exit(f"bench_real_photos.py: {error}")


if __name__ == "__main__":
    app.run(results_file.recorded(main, "bench_real_photos"))
