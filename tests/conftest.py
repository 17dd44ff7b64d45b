"""Fixtures shared by the tests: a tiny diabetic TFRecord folder in the real format."""
import io
import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from datasets import dataset_utils
from tests import background_runs
from tests.trained_run import trained_run  # noqa: F401, E402  (session fixture: one run for every module)

TINY_SPLITS = {"train": 16, "validation": 10, "test": 6}
TINY_IMAGE_SIZE = 96


def draw_tiny_fundus(grade, rng, size=TINY_IMAGE_SIZE):
    """An orange disc on black with `3 * grade` dark spots: enough to tell grades apart."""
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size - 4, size - 4), fill=(200, 90, 40))
    for _ in range(3 * grade):
        x, y = rng.integers(size // 4, 3 * size // 4, 2)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(90, 10, 10))
    encoded = io.BytesIO()
    image.save(encoded, format="JPEG", quality=95)
    return encoded.getvalue()


def write_tiny_diabetic_tfrecords(dataset_dir, splits=TINY_SPLITS, num_shards=2, seed=0):
    """Writes `diabetic_{split}_*.tfrecord`, labels.txt and split_sizes.txt; returns {split: [(id, label)]}."""
    from slim_compat import tf

    rng = np.random.default_rng(seed)
    written = {}
    patient = 0
    for split, count in splits.items():
        rows = []
        for index in range(count):
            patient += index % 2
            image_id = f"{patient}_{'left' if index % 2 == 0 else 'right'}"
            grade = index % 5
            rows.append((image_id, dataset_utils.UNLABELLED if split == "test" else grade, grade))
        for shard in range(num_shards):
            path = os.path.join(dataset_dir, f"diabetic_{split}_{shard:05d}-of-{num_shards:05d}.tfrecord")
            with tf.io.TFRecordWriter(path) as writer:
                for image_id, label, grade in rows[shard::num_shards]:
                    example = dataset_utils.image_to_tfexample(
                        draw_tiny_fundus(grade, rng), b"jpg", TINY_IMAGE_SIZE, TINY_IMAGE_SIZE, label, image_id)
                    writer.write(example.SerializeToString())
        written[split] = [(image_id, label) for image_id, label, _ in rows]
    dataset_utils.write_label_file({grade: str(grade) for grade in range(5)}, dataset_dir)
    dataset_utils.write_split_sizes({split: len(rows) for split, rows in written.items()}, dataset_dir)
    return written


@pytest.fixture(scope="session")
def tiny_diabetic_dir(tmp_path_factory):
    """A folder of diabetic TFRecords (16 train, 10 validation, 6 unlabelled test images of 96x96)."""
    dataset_dir = str(tmp_path_factory.mktemp("tiny_diabetic"))
    write_tiny_diabetic_tfrecords(dataset_dir)
    return dataset_dir


def pytest_collection_finish(session):
    """Starts the long runs that the selected tests wait for (tests/background_runs.py)."""
    background_runs.start_for(session)


def pytest_sessionfinish(session):
    background_runs.stop_all(session.config)
