"""ImageNet as upstream registers it: build_imagenet_data's TFRecords, 1001 classes, no download offline."""
import io
import os
import urllib.error

import numpy as np
import pytest
from PIL import Image

from datasets import dataset_factory, dataset_utils, imagenet, input_pipeline
from preprocessing import preprocessing_factory
from slim_compat import tf
from tests.model_helpers import run_script

# Label (1..1000 after the background class) and box of each tiny example, as build_imagenet_data writes them.
VALIDATION_EXAMPLES = [(1, [0.1, 0.2, 0.5, 0.6]), (7, [0.0, 0.0, 1.0, 1.0]), (1000, [0.25, 0.25, 0.75, 0.5])]


def _float_list(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def build_imagenet_example(index, label, box):
    """A tf.train.Example with the features of build_imagenet_data.py's `_convert_to_example`."""
    image = Image.new("RGB", (40, 30), (index * 60 % 256, 100, 200))
    encoded = io.BytesIO()
    image.save(encoded, format="JPEG")
    xmin, ymin, xmax, ymax = box
    feature = {
        "image/height": dataset_utils.int64_feature(30),
        "image/width": dataset_utils.int64_feature(40),
        "image/colorspace": dataset_utils.bytes_feature("RGB"),
        "image/channels": dataset_utils.int64_feature(3),
        "image/class/label": dataset_utils.int64_feature(label),
        "image/class/synset": dataset_utils.bytes_feature(f"n{label:08d}"),
        "image/class/text": dataset_utils.bytes_feature(f"class {label}"),
        "image/object/bbox/xmin": _float_list([xmin]),
        "image/object/bbox/xmax": _float_list([xmax]),
        "image/object/bbox/ymin": _float_list([ymin]),
        "image/object/bbox/ymax": _float_list([ymax]),
        "image/object/bbox/label": dataset_utils.int64_feature([label]),
        "image/format": dataset_utils.bytes_feature("JPEG"),
        "image/filename": dataset_utils.bytes_feature(f"ILSVRC2012_val_{index:08d}.JPEG"),
        "image/encoded": dataset_utils.bytes_feature(encoded.getvalue()),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


@pytest.fixture(scope="module")
def tiny_imagenet_dir(tmp_path_factory):
    """Two validation shards named like build_imagenet_data's (`validation-0000N-of-00002`)."""
    dataset_dir = str(tmp_path_factory.mktemp("imagenet"))
    for shard in range(2):
        with tf.io.TFRecordWriter(os.path.join(dataset_dir, f"validation-{shard:05d}-of-00002")) as writer:
            for index, (label, box) in enumerate(VALIDATION_EXAMPLES):
                if index % 2 == shard:
                    writer.write(build_imagenet_example(index, label, box).SerializeToString())
    return dataset_dir


def _refuse_network(*args, **kwargs):
    raise urllib.error.URLError("no network in tests")


def test_imagenet_has_upstreams_splits_and_1001_classes_without_reading_files():
    assert dataset_factory.get_num_classes("imagenet") == 1001
    assert imagenet.SPLITS_TO_SIZES == {"train": 1281167, "validation": 50000}
    with pytest.raises(ValueError, match="'test' was not recognised"):
        dataset_factory.get_dataset("imagenet", "test", "unused")


def test_imagenet_reads_build_imagenet_data_records_and_its_labels_file(tiny_imagenet_dir, monkeypatch):
    monkeypatch.setattr(imagenet.urllib.request, "urlopen", _refuse_network)
    names = {0: "background", 1: "tench, Tinca tinca", 7: "cock", 1000: "toilet tissue"}
    labelled_dir = os.path.join(tiny_imagenet_dir, "with_labels")
    os.makedirs(labelled_dir, exist_ok=True)
    dataset_utils.write_label_file(names, labelled_dir)
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("imagenet", "validation", labelled_dir,
                                              file_pattern=os.path.join("..", "%s-*"))
        assert (dataset.num_samples, dataset.num_classes, dataset.labels_to_names) == (50000, 1001, names)
        batch = input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("inception_v3"),
                                             16, batch_size=8, is_training=False, labels_offset=1)
        serialized = tf.data.TFRecordDataset(input_pipeline.list_shards(dataset)).batch(8)
        boxes = dataset.decoder.decode(tf.data.make_one_shot_iterator(serialized.unbatch()).get_next(),
                                       ["object/bbox"])[0]
        with tf.Session() as session:
            values = session.run(batch)
            first_box = session.run(boxes)
    assert values["images"].shape == (3, 16, 16, 3)
    assert sorted(values["labels"]) == sorted(label - 1 for label, _ in VALIDATION_EXAMPLES)
    assert {name.decode() for name in values["filenames"]} == {f"ILSVRC2012_val_{index:08d}.JPEG" for index in
                                                                range(3)}
    xmin, ymin, xmax, ymax = VALIDATION_EXAMPLES[0][1]
    np.testing.assert_allclose(first_box, [[ymin, xmin, ymax, xmax]])


def test_imagenet_offline_without_labels_file_warns_once_and_has_no_names(tiny_imagenet_dir, monkeypatch, caplog):
    attempts = []
    monkeypatch.setattr(imagenet.urllib.request, "urlopen", lambda *a, **k: attempts.append(a) or _refuse_network())
    with tf.Graph().as_default():
        dataset = dataset_factory.get_dataset("imagenet", "validation", tiny_imagenet_dir)
    assert dataset.labels_to_names is None
    assert len(attempts) == 1
    assert "could not be fetched" in caplog.text and "using class ids only" in caplog.text
    assert not dataset_utils.has_labels(tiny_imagenet_dir)
    monkeypatch.setattr(imagenet, "LOAD_READABLE_NAMES", False)
    with tf.Graph().as_default():
        assert dataset_factory.get_dataset("imagenet", "validation", tiny_imagenet_dir).labels_to_names is None
    assert len(attempts) == 1


def test_readable_names_put_background_first_and_synsets_in_list_order():
    names = imagenet.readable_names(["n02", "n01"], ["n01\tgoldfish, Carassius auratus\n", "n02\ttench\n",
                                                     "n03\tunused\n"])
    assert names == {0: "background", 1: "tench", 2: "goldfish, Carassius auratus"}


@pytest.mark.slow
def test_upstream_default_export_command_builds_inception_v3_for_imagenet(tmp_path):
    graph_file = tmp_path / "graph.pb"
    result = run_script("export_inference_graph.py", "--model_name=inception_v3", f"--output_file={graph_file}")
    assert result.returncode == 0, result.stderr[-3000:]
    graph_def = tf.GraphDef()
    graph_def.ParseFromString(graph_file.read_bytes())
    nodes = {node.name: node for node in graph_def.node}
    assert [dim.size for dim in nodes["input"].attr["shape"].shape.dim] == [-1, 299, 299, 3]
    weights = nodes["InceptionV3/Logits/Conv2d_1c_1x1/weights"]
    assert [dim.size for dim in weights.attr["shape"].shape.dim] == [1, 1, 2048, 1001]
