"""Runs an exported grader SavedModel (evaluation.export) in this process, batch by batch."""
import numpy as np

from evaluation import export
from slim_compat import tf


class SavedModelGrader:
    """A loaded SavedModel giving the `probabilities` (and, when it prepares photos, `gradable`) of encoded images."""

    def __init__(self, export_dir):
        self._graph = tf.Graph()
        self._session = tf.Session(graph=self._graph)
        with self._graph.as_default():
            meta_graph = tf.saved_model.loader.load(self._session, [tf.saved_model.tag_constants.SERVING],
                                                    export_dir)
        serving = meta_graph.signature_def[tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
        self._input = serving.inputs[export.SERVING_INPUT].name
        self._outputs = {name: tensor.name for name, tensor in serving.outputs.items()}

    def _run(self, output, encoded_images, batch_size):
        batches = [self._session.run(self._outputs[output], {self._input: encoded_images[start:start + batch_size]})
                   for start in range(0, len(encoded_images), batch_size)]
        return np.concatenate(batches) if batches else None

    def probabilities(self, encoded_images, batch_size=16):
        """Returns [num_images, num_classes] probabilities of a list of encoded JPEG/PNG files."""
        probabilities = self._run("probabilities", encoded_images, batch_size)
        return np.zeros([0, 0], np.float32) if probabilities is None else probabilities

    def gradable(self, encoded_images, batch_size=16):
        """Returns [num_images] booleans: whether each photo can be graded (the conversion's verdict).

        Raises:
          ValueError: the model takes prepared images and judges none.
        """
        if export.GRADABLE_OUTPUT not in self._outputs:
            raise ValueError("this SavedModel takes prepared images and has no gradable output; export it with "
                             "--prepare_image_size to judge camera photographs")
        gradable = self._run(export.GRADABLE_OUTPUT, encoded_images, batch_size)
        return np.zeros([0], bool) if gradable is None else gradable

    def close(self):
        self._session.close()
