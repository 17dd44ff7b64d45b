"""Runs a checkpoint over one exact pass of a split and collects per-image predictions.

Upstream evaluated `ceil(num_samples / batch_size)` batches from an endless queue,
so the last batch wrapped around and counted some images twice. Here the input
makes a single ordered pass (the last batch is smaller) and the pass ends at
OutOfRangeError, so every image is counted exactly once.
"""
import dataclasses

import numpy as np
from absl import logging

from datasets import dataset_factory, tfrecord_check
from grading import thresholds
from inference import heatmaps
from nets import grade_regression, nets_factory
from preprocessing import preprocessing_factory
from slim_compat import slim, tf
from utils import checkpoint_files, progress

# Labels beyond the DR grade that a split's batches may carry (datasets.dataset_utils.EXTRA_FEATURES' items):
# the patient's id ("" when unknown) and the DME grade (-1 when not graded).
EXTRA_ITEMS = ("patient", "dme")


def dataset_num_classes(dataset_name, labels_offset=0, dataset_dir=None):
    """Returns the number of classes a network for `dataset_name` predicts, without reading any TFRecord.

    Args:
      dataset_name: a key of dataset_factory.datasets_map.
      labels_offset: subtracted from the dataset's class count.
      dataset_dir: the TFRecords folder; needed only by datasets whose labels.txt lists the classes.

    Raises:
      ValueError: unknown dataset, or its classes cannot be found.
    """
    return dataset_factory.get_num_classes(dataset_name, dataset_dir) - labels_offset


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which network, preprocessing and weights turn images into grade probabilities.

    Attributes:
      model_name: a key of nets_factory.networks_map.
      num_classes: classes of the logits layer.
      preprocessing_name: a key of preprocessing_factory; None uses `model_name`.
      image_size: network input side; None uses the network's default size.
      moving_average_decay: restore the exponential moving averages kept by training with this
        decay instead of the raw weights; None restores the raw weights.
      tta: average the probabilities over the 8 flips and quarter turns of each image (a fundus
        photo's grade does not change with its orientation).
      regression: the network has a grade regression head (trained with --regression_loss); its
        output is the continuous grade score, else the softmax's expected grade is.
      thresholds: ascending cuts of the grade score into grades (the model's grading: fitted for QWK, or
        the frequency cuts, model_description.Grading.cuts); None grades
        by the softmax's argmax.
      prior_factors: per-class factors π_g / s_g undoing the class frequencies s_g the model was
        trained on (grading.class_prior): its probabilities are then those under the training
        split's frequencies π_g, and the grade score is their expected grade (also with a
        regression head, whose raw output is kept as 'regression'). None: as trained.
    """
    model_name: str
    num_classes: int
    preprocessing_name: str = None
    image_size: int = None
    moving_average_decay: float = None
    tta: bool = False
    regression: bool = False
    thresholds: tuple = None
    prior_factors: tuple = None

    def __post_init__(self):
        nets_factory.check_image_network(self.model_name)

    @classmethod
    def from_description(cls, description, tta=False):
        """The ModelConfig of a utils.model_description.ModelDescription (with its class count): its network,
        weights, regression head, class-prior correction and its grading's cuts."""
        return cls(model_name=description.model_name, num_classes=description.num_classes,
                   preprocessing_name=description.preprocessing_name, image_size=description.image_size,
                   moving_average_decay=description.moving_average_decay, tta=tta,
                   regression=description.regression, thresholds=description.grading.cuts(),
                   prior_factors=description.class_prior.factors() if description.class_prior else None)

    @property
    def regression_scores(self):
        """Whether the grade score is the regression head's output (else the expected grade of the probabilities)."""
        return self.regression and self.prior_factors is None

    def grade_cuts(self):
        """Cuts of the grade score into the model's grades: the fitted thresholds; else, with a
        regression head, plain rounding of its output; else None (the softmax's argmax)."""
        if self.thresholds is not None:
            return tuple(self.thresholds)
        if self.regression:
            return tuple(float(cut) for cut in thresholds.rounding_thresholds(self.num_classes))
        return None

    def network_fn(self):
        return nets_factory.get_network_fn(self.model_name, num_classes=self.num_classes, is_training=False)

    def preprocessing_fn(self):
        return preprocessing_factory.get_preprocessing(self.preprocessing_name or self.model_name,
                                                       is_training=False)

    def input_size(self):
        return self.image_size or self.network_fn().default_image_size


@dataclasses.dataclass
class Predictions:
    """Per-image results of one pass, in input order; `labels` are -1 for unlabelled images.

    `scores` is the continuous grade (regression output, or the softmax's expected grade:
    ModelConfig.regression_scores); `regression` the regression head's raw output, when it has one;
    `grades`, the model's grades, cuts it at `thresholds` (ModelConfig.grade_cuts) when there
    are some, else takes the softmax's argmax. `extras` holds the dataset's labels beyond the
    grade that the batches carried (EXTRA_ITEMS: {item: [num_images] array}).
    """
    filenames: list
    labels: np.ndarray
    probabilities: np.ndarray
    scores: np.ndarray = None
    thresholds: tuple = None
    regression: np.ndarray = None
    extras: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.scores is None:
            self.scores = thresholds.expected_grade(self.probabilities)

    @property
    def grades(self):
        if self.thresholds is not None:
            return thresholds.apply_thresholds(self.scores, self.thresholds)
        return self.probabilities.argmax(axis=1)


def dihedral_variants(images):
    """Returns the 8 flips and quarter turns of a [batch, size, size, channels] batch."""
    turns = [tf.image.rot90(images, k) for k in range(4)]
    return turns + [tf.image.flip_left_right(turn) for turn in turns]


def _network_outputs(config, images, with_heatmaps):
    """Returns {'probabilities': [batch, classes], 'scores': [batch] continuous grade} of one network pass,
    plus 'heatmaps' (Grad-CAM of the softmax's grade) when asked."""
    logits, end_points = config.network_fn()(images)
    probabilities = end_points["Predictions"]
    if config.prior_factors is not None:
        # Bayes' rule from the sampled class frequencies to the training split's (grading.class_prior).
        weighted = probabilities * tf.constant(config.prior_factors, probabilities.dtype)
        probabilities = weighted / tf.reduce_sum(weighted, axis=1, keepdims=True)
    outputs = {"probabilities": probabilities}
    if config.regression:
        outputs["regression"] = grade_regression.add_grade_regression(logits, end_points)
    if config.regression_scores:
        outputs["scores"] = outputs["regression"]
    else:
        outputs["scores"] = tf.linalg.matvec(probabilities, tf.range(config.num_classes, dtype=probabilities.dtype))
    if with_heatmaps:
        outputs["heatmaps"] = heatmaps.grad_cam(logits, heatmaps.feature_map(end_points),
                                                tf.argmax(logits, axis=1))
    return outputs


def graph_grades(scores, cuts):
    """thresholds.apply_thresholds in the graph: [batch] int64 grades, the number of `cuts` at or below
    each of the [batch] `scores`, both cast to thresholds.CUT_DTYPE."""
    cuts = tf.constant(np.asarray(cuts, dtype=thresholds.CUT_DTYPE))
    return tf.reduce_sum(tf.cast(tf.cast(scores, cuts.dtype)[:, None] >= cuts, tf.int64), axis=1)


def build_outputs(config, images, with_heatmaps=False):
    """Builds the network on `images` and returns its outputs, averaged over TTA variants if asked.

    Returns:
      {'probabilities': [batch, num_classes], 'scores': [batch] continuous grade,
       'grades': [batch] int64, cut from the scores at `config.grade_cuts()`, else the argmax}, and
      with `with_heatmaps` 'heatmaps': [batch, height, width] Grad-CAM maps (of the images as
      given, not of their TTA variants).
    """
    if config.tta:
        variants = dihedral_variants(images)
        outputs = _network_outputs(config, tf.concat(variants, axis=0), with_heatmaps)
        maps = outputs.pop("heatmaps", None)
        outputs = {name: tf.reduce_mean(tf.reshape(value, [len(variants), -1, *value.shape[1:]]), axis=0)
                   for name, value in outputs.items()}
        if maps is not None:
            outputs["heatmaps"] = maps[:tf.shape(images)[0]]
    else:
        outputs = _network_outputs(config, images, with_heatmaps)
    cuts = config.grade_cuts()
    if cuts is not None:
        outputs["grades"] = graph_grades(outputs["scores"], cuts)
    else:
        outputs["grades"] = tf.argmax(outputs["probabilities"], axis=1)
    return outputs


def variables_to_restore(moving_average_decay):
    """Returns the Saver's {checkpoint name: variable} map, the moving averages' names when asked."""
    if moving_average_decay:
        averages = tf.train.ExponentialMovingAverage(moving_average_decay)
        return averages.variables_to_restore(slim.get_model_variables())
    return {variable.op.name: variable for variable in slim.get_variables_to_restore()}


def check_restorable(checkpoint, names_to_variables, config):
    """Raises a one-line ValueError when `checkpoint` lacks a variable of the network or holds another shape."""
    problem = checkpoint_files.describe_differences(*checkpoint_files.differences(checkpoint, names_to_variables))
    if problem:
        size = config.input_size()
        raise ValueError(f"{checkpoint}: does not fit {config.model_name} at {size}x{size} pixels ({problem}); "
                         "give the --model_name and image size (--eval_image_size = its --train_image_size) "
                         "it was trained with")


def collect_predictions(checkpoint, config, make_batches, expected_count=None, max_num_batches=None, master="",
                        heatmap_sink=None, shards=()):
    """Runs `checkpoint` over one pass of the batches and returns the per-image predictions.

    Args:
      checkpoint: checkpoint prefix to restore.
      config: a ModelConfig.
      make_batches: `fn(preprocessing_fn, image_size)` building, in the current graph, a dict of
        `images`, `labels` and `filenames` batch tensors (and any of EXTRA_ITEMS) that raise
        OutOfRangeError after one pass.
      expected_count: number of images the pass should yield (for progress and a check).
      max_num_batches: stop after this many batches; None runs the whole pass.
      master: TF master address.
      heatmap_sink: None, or `fn(filenames, images, heatmaps, grades) -> bool` called with each
        batch's preprocessed images and Grad-CAM maps (heatmaps.HeatmapWriter, HeatmapSample)
        until it returns False; later batches skip the gradient computation.
      shards: the TFRecords `make_batches` reads (EvalInput.shards), named if one is corrupt.

    Returns:
      A Predictions.

    Raises:
      ValueError: the checkpoint does not fit the network at this size, or a shard is corrupt.
    """
    with tf.Graph().as_default():
        batches = make_batches(config.preprocessing_fn(), config.input_size())
        outputs = build_outputs(config, batches["images"], with_heatmaps=heatmap_sink is not None)
        names_to_variables = variables_to_restore(config.moving_average_decay)
        check_restorable(checkpoint, names_to_variables, config)
        saver = tf.train.Saver(names_to_variables)
        fetches = {"probabilities": outputs["probabilities"], "scores": outputs["scores"],
                   "labels": batches["labels"], "filenames": batches["filenames"],
                   **{item: batches[item] for item in EXTRA_ITEMS if item in batches}}
        if "regression" in outputs:
            fetches["regression"] = outputs["regression"]
        heatmap_fetches = {"images": batches["images"], "heatmaps": outputs.get("heatmaps"),
                           "grades": outputs["grades"]}
        collected = {name: [] for name in fetches}
        log = progress.ProgressLog(expected_count)
        with tf.Session(master) as session:
            saver.restore(session, checkpoint)
            while max_num_batches is None or len(collected["labels"]) < max_num_batches:
                try:
                    values = session.run({**fetches, **heatmap_fetches} if heatmap_sink else fetches)
                except tf.errors.OutOfRangeError:
                    break
                except tf.errors.DataLossError as error:
                    raise ValueError(tfrecord_check.damage_message(list(shards), error)) from error
                if heatmap_sink and not heatmap_sink(values["filenames"], values["images"], values["heatmaps"],
                                                     values["grades"]):
                    heatmap_sink = None
                for name in fetches:
                    collected[name].append(values[name])
                log.update(len(values["labels"]))
    logging.info("Evaluated %s", log.line())
    if expected_count is not None and max_num_batches is None and log.done != expected_count:
        logging.warning("The pass yielded %d images but the split should hold %d", log.done, expected_count)
    num_classes = config.num_classes
    extras = {item: np.concatenate(collected[item]) for item in EXTRA_ITEMS if collected.get(item)}
    if "patient" in extras:
        extras["patient"] = np.array([patient.decode("utf-8") for patient in extras["patient"]])
    return Predictions(
        filenames=[name.decode("utf-8") for batch in collected["filenames"] for name in batch],
        labels=np.concatenate(collected["labels"]) if collected["labels"] else np.zeros([0], np.int64),
        probabilities=(np.concatenate(collected["probabilities"]) if collected["probabilities"]
                       else np.zeros([0, num_classes], np.float32)),
        scores=np.concatenate(collected["scores"]) if collected["scores"] else np.zeros([0], np.float32),
        regression=np.concatenate(collected["regression"]) if collected.get("regression") else None,
        thresholds=config.grade_cuts(), extras=extras)
