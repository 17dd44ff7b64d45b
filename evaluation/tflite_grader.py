"""Runs an exported TFLite grader (evaluation.tflite_export) on prepared images, one image per call as a device does."""
import warnings

import numpy as np

from evaluation import tflite_export
from slim_compat import tf

# LiteRT (the ai-edge-litert package) is what devices run; TensorFlow's own tf.lite.Interpreter is deprecated.
INTERPRETERS = ("litert", "tensorflow")
# What tf.lite.Interpreter warns at every construction (chosen here knowingly, to compare the two).
DEPRECATION_WARNING = r"(?s).*tf\.lite\.Interpreter is deprecated"


def interpreter_class(name):
    """Returns the Interpreter class of `name`, one of INTERPRETERS."""
    if name == "litert":
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    if name == "tensorflow":
        return tf.lite.Interpreter
    raise ValueError(f"interpreter {name!r}: must be one of {', '.join(INTERPRETERS)}")


class TFLiteGrader:
    """A .tflite grader and its sidecar (`metadata`), loaded into an interpreter."""

    def __init__(self, path, interpreter="litert", num_threads=None):
        self.metadata = tflite_export.read_sidecar(path)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=DEPRECATION_WARNING, category=UserWarning)
            self._interpreter = interpreter_class(interpreter)(model_path=path, num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}

    def outputs(self, images):
        """Returns {output name: [count, ...] array} of prepared uint8 images [count, size, size, 3]."""
        collected = {name: [] for name in self._outputs}
        for image in images:
            self._interpreter.set_tensor(self._input, image[None])
            self._interpreter.invoke()
            for name, index in self._outputs.items():
                collected[name].append(self._interpreter.get_tensor(index)[0])
        return {name: np.array(values) for name, values in collected.items()}
