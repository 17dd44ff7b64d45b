"""Runs an exported TFLite grader (serving.tflite_export) on prepared images, one image per call as a device does."""
import functools
import io
import warnings

import numpy as np
from PIL import Image

from fundus import preparation as fundus_preparation

from serving import tflite_export
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


def prepare_photo(path, metadata):
    """Prepares a camera photograph for the grader as the conversion prepared the training images.

    The disc crop and resize (fundus_preparation.prepare_fundus), Graham's normalisation when the sidecar
    says so, the conversion's JPEG encoding (quality fundus_preparation.JPEG_QUALITY, no chroma subsampling)
    and the input pipeline's decoding (TensorFlow's default: libjpeg's fast integer IDCT, where
    Pillow uses the accurate one), so the grader sees the pixels eval and the SavedModel see.

    Args:
      path: a JPEG photograph.
      metadata: the grader's sidecar (tflite_export.read_sidecar) of a model exported with a preparation.

    Returns:
      (uint8 [size, size, 3] image, the photo's fundus.quality.Quality).

    Raises:
      ValueError: the model takes prepared images only (no preparation in its sidecar).
      fundus_preparation.BadImageError: see fundus_preparation.prepare_fundus.
    """
    size = metadata["prepare_image_size"]
    if not size:
        raise ValueError("this grader was exported with --prepare_image_size=0: it takes images prepared elsewhere")
    image, crop, quality = fundus_preparation.prepare_fundus(path, size, metadata["crop_threshold"],
                                                             crop_mode=metadata["crop_mode"])
    if metadata["graham"]:
        disc = fundus_preparation.disc_mask(crop, size, fundus_preparation.GRAHAM_DISC_SHARE)
        image = fundus_preparation.graham_normalise(image, disc)
    encoded = io.BytesIO()
    Image.fromarray(image).save(encoded, format="JPEG", quality=fundus_preparation.JPEG_QUALITY,
                                subsampling=fundus_preparation.JPEG_SUBSAMPLING)
    return _pipeline_jpeg_decoder()(encoded.getvalue()), quality


@functools.lru_cache(maxsize=None)
def _pipeline_jpeg_decoder():
    """Returns fn(JPEG bytes) -> uint8 RGB array, decoded as the input pipeline decodes (one session, kept)."""
    graph = tf.Graph()
    with graph.as_default():
        encoded = tf.placeholder(tf.string, [])
        decoded = tf.io.decode_jpeg(encoded, channels=3)
    session = tf.Session(graph=graph)
    return lambda data: session.run(decoded, {encoded: data})


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
