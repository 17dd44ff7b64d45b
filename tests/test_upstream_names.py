"""Upstream's names: every preprocessing key, its use_grayscale, and eval's flags and defaults."""
import re

import numpy as np
import pytest

from preprocessing import preprocessing_factory
from slim_compat import tf
from tests.model_helpers import run_script

INCEPTION = ["inception", "inception_v1", "inception_v2", "inception_v3", "inception_v4", "inception_resnet_v2",
             "mobilenet_v1", "mobilenet_v2", "mobilenet_v2_035", "mobilenet_v3_small", "mobilenet_v3_large",
             "mobilenet_v3_small_minimalistic", "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu",
             "mobilenet_edgetpu_075", "mobilenet_v2_140", "nasnet_mobile", "nasnet_large", "pnasnet_mobile",
             "pnasnet_large"]
VGG = [f"resnet_v{version}_{depth}" for version in (1, 2) for depth in (50, 101, 152, 200)] + [
    "vgg", "vgg_a", "vgg_16", "vgg_19"]


def test_every_upstream_preprocessing_name_maps_to_upstreams_module():
    expected = {"cifarnet": "cifarnet_preprocessing", "lenet": "lenet_preprocessing",
                **{name: "inception_preprocessing" for name in INCEPTION},
                **{name: "vgg_preprocessing" for name in VGG}}
    assert len(expected) == 34
    found = {name: preprocessing_factory.preprocessing_fn_map[name].__name__.split(".")[-1] for name in expected}
    assert found == expected


def test_use_grayscale_gives_one_channel_of_the_colour_output():
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    with tf.Graph().as_default(), tf.Session() as session:
        colour, gray = session.run([
            preprocessing_factory.get_preprocessing("inception_v3")(tf.constant(image), 24, 24),
            preprocessing_factory.get_preprocessing("inception_v3", use_grayscale=True)(tf.constant(image), 24, 24)])
    assert gray.shape == (24, 24, 1)
    np.testing.assert_allclose(gray[..., 0], colour @ [0.2989, 0.587, 0.114], atol=1e-3)


def flag_defaults(help_text):
    """Returns {flag: its `(default: ...)` text, or None} from absl's --helpfull output."""
    defaults, name = {}, None
    for line in help_text.splitlines():
        started = re.match(r"\s+--(?:\[no\])?(\w+):", line)
        if started:
            name = started.group(1)
            defaults[name] = None
        default = re.search(r"\(default: (.*)\)", line)
        if name and default:
            defaults[name] = default.group(1)
    return defaults


@pytest.mark.slow
def test_eval_has_every_upstream_flag_with_its_default_and_refuses_quantize_in_one_line(tmp_path):
    found = flag_defaults(run_script("eval_image_classifier.py", "--helpfull").stdout)
    expected = {"batch_size": "'100'", "max_num_batches": None, "master": "''", "checkpoint_path": "'/tmp/tfmodel/'",
                "eval_dir": "'/tmp/tfmodel/'", "num_preprocessing_threads": "'4'", "dataset_name": "'imagenet'",
                "dataset_split_name": "'test'", "dataset_dir": None, "labels_offset": "'0'",
                "model_name": "'inception_v3'", "preprocessing_name": None, "moving_average_decay": None,
                "eval_image_size": None, "quantize": "'false'", "use_grayscale": "'false'"}
    assert {flag: found.get(flag, "missing") for flag in expected} == expected
    result = run_script("eval_image_classifier.py", f"--dataset_dir={tmp_path}", "--quantize")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("eval_image_classifier.py: --quantize is not supported: "
                                                      "tf.contrib.quantize no longer exists in TensorFlow 2")
