"""Tiny archives in the formats upstream's converters download (CIFAR-10, MNIST, flowers, COCO 2014)."""
import gzip
import io
import json
import os
import pickle
import struct
import tarfile
import zipfile

import numpy as np
from PIL import Image


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def jpeg_bytes(colour, size=(12, 10)):
    encoded = io.BytesIO()
    Image.new("RGB", size, colour).save(encoded, format="JPEG")
    return encoded.getvalue()


def write_cifar10_archive(folder, images_per_batch=2, num_test=3, seed=0):
    """Writes cifar-10-python.tar.gz (pickled batches with bytes keys, as the real one); returns
    {split: (images [n, 32, 32, 3], labels)}."""
    rng = np.random.default_rng(seed)
    batches, written = {}, {"train": ([], []), "test": ([], [])}
    for name, count in [*((f"data_batch_{index}", images_per_batch) for index in range(1, 6)), ("test_batch", num_test)]:
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, count).tolist()
        # Rows hold the red plane, then green, then blue, as CIFAR's do.
        batches[name] = {b"data": images.transpose(0, 3, 1, 2).reshape(count, -1), b"labels": labels}
        split = "test" if name == "test_batch" else "train"
        written[split][0].extend(images)
        written[split][1].extend(labels)
    with tarfile.open(os.path.join(folder, "cifar-10-python.tar.gz"), "w:gz") as archive:
        for name, batch in batches.items():
            _add_bytes(archive, f"cifar-10-batches-py/{name}", pickle.dumps(batch))
    return {split: (np.stack(images), np.array(labels)) for split, (images, labels) in written.items()}


def _write_idx_gz(path, magic, array):
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes())


def write_mnist_files(folder, counts=(6, 4), seed=0):
    """Writes MNIST's four gzipped IDX files; returns {split: (images [n, 28, 28], labels)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for (split, prefix), count in zip((("train", "train"), ("test", "t10k")), counts):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        _write_idx_gz(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), 2051, images)
        _write_idx_gz(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), 2049, labels)
        written[split] = (images, labels)
    return written


FLOWER_COLOURS = {"daisy": (250, 250, 250), "roses": (200, 10, 30), "tulips": (240, 200, 0)}


def write_flowers_archive(folder, photos_per_class):
    """Writes flower_photos.tgz: flower_photos/<class>/<class>_<i>.jpg plus a LICENSE.txt, as the real one."""
    with tarfile.open(os.path.join(folder, "flower_photos.tgz"), "w:gz") as archive:
        _add_bytes(archive, "flower_photos/LICENSE.txt", b"licences")
        for name, colour in FLOWER_COLOURS.items():
            for index in range(photos_per_class):
                _add_bytes(archive, f"flower_photos/{name}/{name}_{index}.jpg", jpeg_bytes(colour))


# (file name, width, height, [(category id, area, [x, y, w, h])]) of each tiny COCO image per split.
COCO_IMAGES = {
    "train": [("COCO_train2014_1.jpg", 20, 10, [(1, 50.0, [2, 1, 10, 5])]),   # a big person: label 1
              ("COCO_train2014_2.jpg", 20, 10, [(1, 0.5, [0, 0, 1, 0.5])]),  # a tiny person only: label 0
              ("COCO_train2014_3.jpg", 20, 10, [(18, 80.0, [0, 0, 10, 8])])],  # a dog: label 0
    "val": [("COCO_val2014_4.jpg", 10, 10, [(18, 9.0, [1, 1, 3, 3]), (1, 20.0, [5, 0, 5, 4])])],
}


def write_coco_zips(coco_dir):
    """Writes train2014.zip, val2014.zip and annotations_trainval2014.zip with the images of COCO_IMAGES."""
    os.makedirs(coco_dir, exist_ok=True)
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 18, "name": "dog", "supercategory": "animal"}]
    with zipfile.ZipFile(os.path.join(coco_dir, "annotations_trainval2014.zip"), "w") as annotations_zip:
        image_id = annotation_id = 0
        for split, images in COCO_IMAGES.items():
            coco = {"images": [], "annotations": [], "categories": categories}
            with zipfile.ZipFile(os.path.join(coco_dir, f"{split}2014.zip"), "w") as images_zip:
                for file_name, width, height, objects in images:
                    image_id += 1
                    images_zip.writestr(f"{split}2014/{file_name}", jpeg_bytes((image_id * 40, 90, 90), (width, height)))
                    coco["images"].append({"id": image_id, "file_name": file_name, "width": width, "height": height})
                    for category_id, area, bbox in objects:
                        annotation_id += 1
                        coco["annotations"].append({"id": annotation_id, "image_id": image_id, "area": area,
                                                    "bbox": bbox, "category_id": category_id, "iscrowd": 0})
            annotations_zip.writestr(f"annotations/instances_{split}2014.json", json.dumps(coco))
