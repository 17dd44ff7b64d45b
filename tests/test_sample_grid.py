"""The PNG grid of a split's images: one row per grade, captioned with the image ids."""
import os
import shutil

import numpy as np
from PIL import Image

from datasets import dataset_factory, sample_grid

TILE = 64


def test_grid_has_a_row_per_grade_of_the_first_images_in_shard_order(tiny_diabetic_dir):
    dataset = dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir)
    examples = sample_grid.sample_examples(dataset, per_class=2)
    assert sorted(examples) == [0, 1, 2, 3, 4]
    assert all(len(kept) == 2 for kept in examples.values())
    # Shard 0 holds the even-indexed images (grades 0, 2, 4, 1, 3, ...); image 0 is 0_left.
    assert examples[0][0][0] == "0_left"


def test_written_png_shows_the_images_at_tile_size(tiny_diabetic_dir, tmp_path):
    dataset = dataset_factory.get_dataset("diabetic", "train", tiny_diabetic_dir)
    output = tmp_path / "grid.png"
    assert sample_grid.write_sample_grid(dataset, str(output), per_class=3, tile_size=TILE) == 15
    grid = Image.open(output)
    assert grid.format == "PNG"
    assert grid.size == (sample_grid.LABEL_WIDTH + 3 * TILE, 5 * (TILE + sample_grid.CAPTION_HEIGHT))
    pixels = np.asarray(grid.convert("RGB"))
    # The tiny fundus is an orange disc: the first tile's centre is orange, its corner black.
    centre = pixels[TILE // 2, sample_grid.LABEL_WIDTH + TILE // 2]
    assert centre[0] > 150 and centre[2] < 100
    assert pixels[1, sample_grid.LABEL_WIDTH + 1].max() < 40
    assert not list(tmp_path.glob("*.tmp*"))



def test_reading_stops_once_every_grade_is_full(tiny_diabetic_dir, tmp_path):
    for name in os.listdir(tiny_diabetic_dir):
        shutil.copy(os.path.join(tiny_diabetic_dir, name), tmp_path)
    dataset = dataset_factory.get_dataset("diabetic", "train", str(tmp_path))
    # Shard 0 holds all five grades (0_left, 1_left, ... are grades 0, 2, 4, 1, 3, ...); shard 1 is
    # made unreadable after get_dataset checked it, so only a reader that stops in time gets through.
    (tmp_path / "diabetic_train_00001-of-00002.tfrecord").write_bytes(b"not a TFRecord" * 100)
    examples = sample_grid.sample_examples(dataset, per_class=1)
    assert sorted(examples) == [0, 1, 2, 3, 4]
