"""Draws a PNG grid of a split's images, one row per grade, to see what the network is fed.

The images are the TFRecords' own (for diabetic: cropped to the disc and resized by
the prepare stage), scaled to the training resolution so that what is visible in a
tile is what the network can see. Pillow only; a 256-colour palette keeps the PNG
small (about 100 KB for 5 x 4 tiles of 128 pixels) without visible loss.

    python -m datasets.sample_grid --dataset_dir=DIR/tfrecords --output=grid.png
"""
import io
import sys

from PIL import Image, ImageDraw, ImageFont

from datasets import dataset_factory, input_pipeline, tfrecord_check
from slim_compat import tf
from utils.atomic_files import atomic_path

LABEL_WIDTH = 84
CAPTION_HEIGHT = 16
FONT_SIZE = 13
BACKGROUND = (255, 255, 255)
INK = (0, 0, 0)


def _feature_bytes(example, key):
    values = example.features.feature[key].bytes_list.value
    return values[0] if values else b""


def sample_examples(dataset, per_class):
    """Returns the first `per_class` examples of each class in a split, in shard order.

    Reading stops once every one of the dataset's classes has `per_class` examples, so a
    Kaggle-sized split is not read through.

    Args:
      dataset: a slim Dataset in this project's TFRecord format.
      per_class: how many examples to keep per class.

    Returns:
      {label: [(image id, encoded image bytes)]} for the labels found (unlabelled -1 included).
    """
    chosen = {}
    for path in input_pipeline.list_shards(dataset):
        for record in tfrecord_check.records(path):
            example = tf.train.Example.FromString(record)
            label = example.features.feature["image/class/label"].int64_list.value[0]
            kept = chosen.setdefault(label, [])
            if len(kept) < per_class:
                kept.append((_feature_bytes(example, "image/filename").decode("utf-8"),
                             _feature_bytes(example, "image/encoded")))
            if sum(len(examples) == per_class for examples in chosen.values()) >= dataset.num_classes:
                return chosen
    return chosen


def render_grid(examples, tile_size, per_class):
    """Returns an RGB PIL image: a row per label (sorted), `per_class` captioned tiles per row.

    Args:
      examples: what `sample_examples` returns.
      tile_size: side of each square tile in pixels.
      per_class: tiles per row (rows with fewer examples are left blank at the end).
    """
    labels = sorted(examples)
    font = ImageFont.load_default(size=FONT_SIZE)
    row_height = tile_size + CAPTION_HEIGHT
    grid = Image.new("RGB", (LABEL_WIDTH + per_class * tile_size, len(labels) * row_height), BACKGROUND)
    draw = ImageDraw.Draw(grid)
    for row, label in enumerate(labels):
        top = row * row_height
        draw.text((6, top + tile_size // 2), f"grade {label}", font=font, fill=INK)
        for column, (name, encoded) in enumerate(examples[label]):
            tile = Image.open(io.BytesIO(encoded)).convert("RGB").resize((tile_size, tile_size), Image.BILINEAR)
            left = LABEL_WIDTH + column * tile_size
            grid.paste(tile, (left, top))
            draw.text((left + 2, top + tile_size + 1), name, font=font, fill=INK)
    return grid


def write_sample_grid(dataset, output_path, per_class=4, tile_size=128):
    """Writes the grid of `dataset`'s first `per_class` images per grade to `output_path` (PNG, atomically).

    Returns:
      The number of images drawn.

    Raises:
      ValueError: the split has no TFRecords.
    """
    examples = sample_examples(dataset, per_class)
    grid = render_grid(examples, tile_size, per_class)
    with atomic_path(output_path) as temporary:
        grid.quantize(256, method=Image.Quantize.FASTOCTREE).save(temporary, format="PNG", optimize=True)
    return sum(len(kept) for kept in examples.values())


def main(argv):
    from absl import flags

    del argv
    options = flags.FLAGS
    try:
        dataset = dataset_factory.get_dataset(options.dataset_name, options.dataset_split_name, options.dataset_dir)
        count = write_sample_grid(dataset, options.output, options.per_class, options.tile_size)
    except ValueError as error:
        sys.exit(f"sample_grid: {error}")
    print(f"wrote {count} {options.dataset_split_name} images to {options.output}")


def define_flags():
    """Defines this module's command-line flags (only when run as a script)."""
    from absl import flags

    flags.DEFINE_string("dataset_dir", None, "The folder with the TFRecords.")
    flags.DEFINE_string("dataset_name", "diabetic", "The name of the dataset.")
    flags.DEFINE_string("dataset_split_name", "train", "The split to draw from.")
    flags.DEFINE_string("output", None, "The PNG file to write.")
    flags.DEFINE_integer("per_class", 4, "Images per grade.")
    flags.DEFINE_integer("tile_size", 128, "Side of each image in pixels; the training image size shows "
                         "what the network sees.")
    flags.mark_flag_as_required("dataset_dir")
    flags.mark_flag_as_required("output")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
