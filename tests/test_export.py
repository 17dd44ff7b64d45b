"""export_inference_graph.py: upstream's GraphDef and a SavedModel serving encoded images."""
import os

import numpy as np
import pytest

from serving import saved_model_export
from slim_compat import tf
from utils import atomic_files
from tests.model_helpers import (TEST_IMAGE_SIZE, TEST_MODEL, read_encoded_images, run_script,
                                 shared_train_dir, split_predictions)

pytestmark = pytest.mark.slow  # runs export_inference_graph.py and loads its SavedModel


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Runs the export script once for both outputs; returns (checkpoint, GraphDef path, SavedModel dir, output)."""
    directory = tmp_path_factory.mktemp("export")
    train_dir = shared_train_dir(tmp_path_factory)
    graph_file, saved_model_dir = directory / "inception_v3_inf_graph.pb", directory / "saved_model"
    result = run_script("export_inference_graph.py", f"--model_name={TEST_MODEL}", "--dataset_name=diabetic",
                        f"--image_size={TEST_IMAGE_SIZE}", f"--output_file={graph_file}",
                        f"--checkpoint_path={train_dir}", f"--saved_model_dir={saved_model_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return os.path.join(train_dir, "model.ckpt-2"), str(graph_file), str(saved_model_dir), result.stdout + result.stderr


def test_graph_def_has_the_upstream_input_placeholder_and_predictions_node(exported):
    _, graph_file, _, _ = exported
    graph_def = tf.GraphDef()
    with open(graph_file, "rb") as handle:
        graph_def.ParseFromString(handle.read())
    nodes = {node.name: node for node in graph_def.node}
    placeholder = nodes["input"]
    assert placeholder.op == "Placeholder"
    assert [dim.size for dim in placeholder.attr["shape"].shape.dim] == [-1, TEST_IMAGE_SIZE, TEST_IMAGE_SIZE, 3]
    assert "InceptionV3/Predictions/Reshape_1" in nodes
    assert not any(node.op in ("SaveV2", "RestoreV2") for node in graph_def.node)


def test_saved_model_gives_the_probabilities_of_eval_on_the_same_images(exported, tiny_diabetic_dir):
    checkpoint, _, saved_model_dir, _ = exported
    encoded = read_encoded_images(tiny_diabetic_dir, "validation")
    expected = split_predictions(tiny_diabetic_dir, checkpoint, split="validation")
    with tf.Graph().as_default(), tf.Session() as session:
        meta_graph = tf.saved_model.loader.load(session, [tf.saved_model.tag_constants.SERVING], saved_model_dir)
        signature = meta_graph.signature_def["serving_default"]
        fetches = {name: signature.outputs[name].name for name in saved_model_export.SERVING_OUTPUTS}
        served = session.run(fetches, {signature.inputs[saved_model_export.SERVING_INPUT].name:
                                       [encoded[name] for name in expected.filenames]})
    np.testing.assert_allclose(served["probabilities"], expected.probabilities, atol=1e-5)
    np.testing.assert_array_equal(served["grade"], expected.grades)


def test_metadata_names_the_checkpoint_in_its_train_dir_and_the_log_the_final_folder(exported):
    _, _, saved_model_dir, output = exported
    with tf.Graph().as_default(), tf.Session() as session:
        meta_graph = tf.saved_model.loader.load(session, [tf.saved_model.tag_constants.SERVING], saved_model_dir)
        outputs = meta_graph.signature_def["metadata"].outputs
        checkpoint, step = session.run([outputs["checkpoint"].name, outputs["global_step"].name])
    assert checkpoint.decode() == "model.ckpt-2" and step == 2
    assert f"written to {saved_model_dir}\n" in output
    assert atomic_files.temporary_path(saved_model_dir) not in output


def test_saved_model_refuses_to_overwrite_a_directory(tmp_path):
    with pytest.raises(ValueError, match="already exists"):
        saved_model_export.export_saved_model("unused", None, str(tmp_path))
