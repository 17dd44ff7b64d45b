"""export_inference_graph.py's upstream flags and library behaviour (its main raises ValueError)."""
import json
import subprocess
import sys
import textwrap

import pytest
from google.protobuf import text_format

from serving import saved_model_export
from slim_compat import tf
from tests.model_helpers import REPO_ROOT, run_script

pytestmark = pytest.mark.slow  # runs export_inference_graph.py on Inception V3

# Calls export_inference_graph.main as a library, without a command line, as upstream's own test does.
LIBRARY_CALLS = textwrap.dedent("""
    import json, os, sys
    import export_inference_graph
    from absl import flags
    FLAGS, results = flags.FLAGS, {}

    def call(**values):
        for name, value in values.items():
            setattr(FLAGS, name, value)
        try:
            export_inference_graph.main(None)
            return "ok"
        except ValueError as error:
            return "ValueError: " + str(error)

    results["no_output_file"] = call()
    output_file = os.path.join(sys.argv[1], "graph.pb")
    results["video_without_frames"] = call(output_file=output_file, is_video_model=True)
    results["quantize"] = call(is_video_model=False, quantize=True)
    results["default_dataset"] = call(quantize=False, model_name="inception_v3", image_size=128,
                                      dataset_dir=sys.argv[1])
    results["written"] = os.path.exists(output_file)
    print(json.dumps(results))
""")


def test_main_called_as_a_library_raises_value_error_where_upstream_does(tmp_path):
    run = subprocess.run([sys.executable, "-c", LIBRARY_CALLS, str(tmp_path)], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert results["no_output_file"].startswith("ValueError: You must supply the path to save to with --output_file")
    assert results["video_without_frames"] == ("ValueError: Number of frames must be specified for video models "
                                               "with --num_frames")
    assert "--quantize is not supported" in results["quantize"]
    assert results["default_dataset"] == "ok" and results["written"]


def test_command_line_reports_unsupported_quantize_in_one_line(tmp_path):
    result = run_script("export_inference_graph.py", f"--output_file={tmp_path / 'graph.pb'}", "--quantize")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("export_inference_graph.py: --quantize is not supported: "
                                                      "tf.contrib.quantize no longer exists in TensorFlow 2")
    assert not (tmp_path / "graph.pb").exists()


def test_grayscale_graph_takes_one_channel_and_text_graphdef_is_readable(tmp_path):
    graph_def = saved_model_export.inference_graph_def("inception_v3", 5, image_size=128, batch_size=2, num_channels=1)
    nodes = {node.name: node for node in graph_def.node}
    assert [dim.size for dim in nodes["input"].attr["shape"].shape.dim] == [2, 128, 128, 1]
    first_conv = nodes["InceptionV3/Conv2d_1a_3x3/weights"]
    assert [dim.size for dim in first_conv.attr["shape"].shape.dim] == [3, 3, 1, 32]
    path = tmp_path / "graph.pbtxt"
    saved_model_export.write_graph_def(graph_def, str(path), as_text=True)
    assert text_format.Parse(path.read_text(), tf.GraphDef()) == graph_def
