"""A start without TensorFlow's chatter and tf-slim's warnings, which RETINA_SLIM_TF_LOGS=1 brings back."""
import ast
import os
import textwrap

import pytest

import slim_compat
from tests.model_helpers import REPO_ROOT, run_script

pytestmark = pytest.mark.slow  # runs every script in a subprocess

# Parts of the lines a start printed before slim_compat hid them.
CHATTER = ("absl::InitializeLog", "oneDNN custom operations", "Could not find cuda drivers", "failed call to cuInit",
           "is deprecated", "layer.apply", "Scale of 0 disables regularizer", "closed FileWriter")

# Builds slim.batch_norm with a weight decay of 0, trains it one step (a session, a Supervisor), then resumes.
TRAIN_ONE_STEP = textwrap.dedent("""
    import sys
    import tempfile
    from slim_compat import slim, tf
    print("imported", file=sys.stderr, flush=True)
    tf.logging.set_verbosity(tf.logging.INFO)

    def train(train_dir, steps):
        with tf.Graph().as_default():
            tf.train.create_global_step()
            with slim.arg_scope([slim.conv2d], weights_regularizer=slim.l2_regularizer(0.0),
                                normalizer_fn=slim.batch_norm):
                outputs = slim.conv2d(tf.ones([2, 4, 4, 3]), 2, 3)
            optimizer = tf.train.GradientDescentOptimizer(0.1)
            slim.learning.train(slim.learning.create_train_op(tf.reduce_mean(outputs), optimizer), train_dir,
                                number_of_steps=steps)

    train_dir = tempfile.mkdtemp()
    train(train_dir, 1)
    train(train_dir, 2)  # resumes: the Saver reads the checkpoint's times
    print("trained", file=sys.stderr, flush=True)
""")



def chatter_in(output):
    """Returns the lines of `output` that hold a part of the chatter."""
    return [line for line in output.splitlines() if any(part in line for part in CHATTER)]


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.delenv(slim_compat.TF_LOGS_VARIABLE, raising=False)


@pytest.mark.parametrize("script", ["eval_image_classifier.py", "download_and_convert_data.py"])
def test_help_starts_with_the_scripts_own_line(quiet, script):
    with open(os.path.join(REPO_ROOT, script)) as handle:
        first_docstring_line = ast.get_docstring(ast.parse(handle.read())).splitlines()[0]
    output = run_script(script, "--help", merged=True).stdout
    assert output.splitlines()[0] == first_docstring_line
    assert not chatter_in(output)


def test_training_a_step_prints_no_chatter(quiet):
    result = run_script("-c", TRAIN_ONE_STEP, merged=True)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout
    assert (lines[0], lines[-1]) == ("imported", "trained")
    assert not chatter_in(result.stdout)


def test_the_variable_brings_the_chatter_back(monkeypatch):
    monkeypatch.setenv(slim_compat.TF_LOGS_VARIABLE, "1")
    output = run_script("-c", TRAIN_ONE_STEP, merged=True).stdout
    for part in ("absl::InitializeLog", "is deprecated", "layer.apply", "Scale of 0 disables regularizer"):
        assert part in output
    assert output.index("absl::InitializeLog") < output.index("imported")


def test_a_failed_import_shows_what_tensorflow_printed(quiet, monkeypatch, tmp_path):
    package = tmp_path / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'libcudart.so.12: cannot open shared object file\\n')\n"
        "raise ImportError('no TensorFlow here')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = run_script("-c", "import slim_compat", merged=True)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "libcudart.so.12: cannot open shared object file"]
    assert "ImportError: no TensorFlow here" in result.stdout


def test_only_the_marked_lines_are_hidden(capfd):
    with slim_compat.stderr_without(("chatter",)):
        os.write(2, b"kept\nsome chatter\nkept too\n")
    assert capfd.readouterr().err == "kept\nkept too\n"


def test_with_an_nvidia_driver_no_cuda_line_is_hidden():
    hidden = " ".join(slim_compat.chatter_markers(nvidia_driver=True)).lower()
    assert not [word for word in ("cuda", "cuinit", "gpu") if word in hidden]


def test_tensorflow_log_lines_print_once_under_absl():
    script = textwrap.dedent("""
        from absl import app
        import slim_compat
        from slim_compat import tf

        def main(_):
            tf.get_logger().warning("a tensorflow warning")

        app.run(main)
    """)
    output = run_script("-c", script, merged=True).stdout
    assert output.count("a tensorflow warning") == 1, output
