"""Runs an exported grader SavedModel (serving.saved_model_export) in this process, batch by batch."""
import numpy as np

from serving import saved_model_export
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
        self._input = serving.inputs[saved_model_export.SERVING_INPUT].name
        self._outputs = {name: tensor.name for name, tensor in serving.outputs.items()}

    def _run(self, output, encoded_images, batch_size):
        return self._run_all([output], encoded_images, batch_size)[0]

    def _run_all(self, outputs, encoded_images, batch_size):
        """Returns the arrays of `outputs` over all images, or [None, ...] when there are none."""
        batches = [self._session.run([self._outputs[output] for output in outputs],
                                     {self._input: encoded_images[start:start + batch_size]})
                   for start in range(0, len(encoded_images), batch_size)]
        return [np.concatenate(values) for values in zip(*batches)] if batches else [None] * len(outputs)

    def probabilities(self, encoded_images, batch_size=16):
        """Returns [num_images, num_classes] probabilities of a list of encoded JPEG/PNG files."""
        probabilities = self._run("probabilities", encoded_images, batch_size)
        return np.zeros([0, 0], np.float32) if probabilities is None else probabilities

    def graded(self, encoded_images, batch_size=16):
        """Returns ([num_images, num_classes] probabilities, [num_images] grades) of encoded files, in one pass.

        Raises:
          ValueError: no images.
        """
        if not len(encoded_images):
            raise ValueError("no images to grade")
        return tuple(self._run_all(["probabilities", "grade"], encoded_images, batch_size))

    def gradable(self, encoded_images, batch_size=16):
        """Returns [num_images] booleans: whether each photo can be graded (the conversion's verdict).

        Raises:
          ValueError: the model takes prepared images and judges none.
        """
        if saved_model_export.GRADABLE_OUTPUT not in self._outputs:
            raise ValueError("this SavedModel takes prepared images and has no gradable output; export it with "
                             "--prepare_image_size to judge camera photographs")
        gradable = self._run(saved_model_export.GRADABLE_OUTPUT, encoded_images, batch_size)
        return np.zeros([0], bool) if gradable is None else gradable

    def close(self):
        self._session.close()
