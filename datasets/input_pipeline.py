"""tf.data input pipeline: TFRecord shards -> decoded, preprocessed batches.

Replaces upstream's DatasetDataProvider + tf.train.batch queues. Training
reads shards interleaved, shuffles, repeats forever and prefetches; evaluation
makes exactly one pass in a fixed order, so every example is seen once and the
last batch may be smaller. Reading and preprocessing parallelism default to
tf.data's autotuning over the host's cores; batches can be prefetched onto the
GPU, so the host-to-device copy overlaps the previous step.
"""
import dataclasses
import glob
import os

import numpy as np

from datasets import dataset_utils
from slim_compat import tf

SHUFFLE_BUFFER_BATCHES = 20


def list_shards(dataset):
    """Returns the sorted TFRecord files of a slim Dataset.

    Raises:
      ValueError: no file matches `dataset.data_sources`.
    """
    patterns = dataset.data_sources if isinstance(dataset.data_sources, (list, tuple)) else [dataset.data_sources]
    files = sorted(path for pattern in patterns for path in glob.glob(pattern))
    if not files:
        raise ValueError(f"no TFRecords match {', '.join(patterns)}")
    return files


def decode_example(dataset, serialized):
    """Decodes one serialized example with the dataset's own decoder.

    Returns:
      (uint8 image [height, width, channels], int64 label, string filename); the
      filename is empty when the dataset has none.
    """
    items = dataset.decoder.list_items()
    wanted = ["image", "label"] + (["filename"] if "filename" in items else [])
    decoded = dict(zip(wanted, dataset.decoder.decode(serialized, wanted)))
    image = decoded["image"]
    # Colour unless the decoder says otherwise (MNIST's are grayscale).
    image.set_shape([None, None, image.shape[-1] if image.shape.rank == 3 and image.shape[-1] else 3])
    return image, tf.cast(decoded["label"], tf.int64), decoded.get("filename", tf.constant(""))


def _read_records(files, is_training, num_readers, seed):
    """Returns a dataset of serialized examples from `files` (`num_readers` None: one shard per core, autotuned)."""
    if not is_training:
        return tf.data.TFRecordDataset(files)
    shards = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed).repeat()
    if num_readers is None:
        readers, parallel_reads = min(os.cpu_count() or 1, len(files)), tf.data.AUTOTUNE
    else:
        readers = parallel_reads = max(1, min(num_readers, len(files)))
    return shards.interleave(tf.data.TFRecordDataset, cycle_length=readers, num_parallel_calls=parallel_reads,
                             deterministic=seed is not None)


def _label_of(dataset, serialized):
    return tf.cast(dataset.decoder.decode(serialized, ["label"])[0], tf.int64)


@dataclasses.dataclass(frozen=True)
class SamplingSchedule:
    """Class sampling that moves from balanced towards the split's own frequencies during training.

    The probability of drawing label i for the n-th example (counted from the start of the
    run, so a resumed run continues where it stopped) is

        mix(n) / len(labels) + (1 - mix(n)) * frequencies[i],
        mix(n) = 1 - (1 - end_mix) * min(1, n / num_examples),

    balanced at the first example, `end_mix` of balanced and the rest the split's frequencies
    from the `num_examples`-th on (end_mix 0: the split's own frequencies; 1: balanced throughout).

    Attributes:
      frequencies: each of the sampled labels' share of the split (summing to 1).
      num_examples: examples over which the mix moves (the run's steps x batch size).
      end_mix: share of balanced sampling at the end, in [0, 1].
      start_example: examples the run drew before (a resumed run's step x batch size).
    """
    frequencies: tuple
    num_examples: int
    end_mix: float = 0.0
    start_example: int = 0

    def probabilities(self, example):
        """The class probabilities of the `example`-th example of the run (numpy, for tests and logs)."""
        progress = min(1.0, example / self.num_examples)
        mix = 1.0 - (1.0 - self.end_mix) * progress
        frequencies = np.asarray(self.frequencies, dtype=np.float64)
        return mix / frequencies.size + (1.0 - mix) * frequencies / frequencies.sum()

    def weights(self):
        """An endless dataset of the class probabilities of each example, from `start_example` on."""
        frequencies = tf.constant(np.asarray(self.frequencies, np.float64) / np.sum(self.frequencies), tf.float32)
        uniform = tf.fill(tf.shape(frequencies), 1.0 / len(self.frequencies))
        end_mix, num_examples = float(self.end_mix), float(max(1, self.num_examples))

        def at(example):
            progress = tf.minimum(1.0, tf.cast(example, tf.float32) / num_examples)
            mix = 1.0 - (1.0 - end_mix) * progress
            return mix * uniform + (1.0 - mix) * frequencies
        return tf.data.Dataset.counter(self.start_example).map(at)


def _balanced(dataset, records, labels, labels_offset, seed, schedule=None):
    """Samples the examples of each of `labels` equally often, or as `schedule` says (an endless dataset).

    Each label is read from its own endless stream of the shards; labels are
    parsed before any image is decoded, so skipping an example is cheap.
    """
    per_class = [records.filter(lambda serialized, label=label: tf.equal(_label_of(dataset, serialized) - labels_offset, label))
                 for label in labels]
    if schedule is not None and len(schedule.frequencies) != len(labels):
        raise ValueError(f"the sampling schedule has {len(schedule.frequencies)} frequencies for {len(labels)} labels")
    return tf.data.Dataset.sample_from_datasets(per_class, weights=schedule.weights() if schedule else None,
                                                seed=seed)


def build_batches(dataset, preprocessing_fn, image_size, batch_size, is_training, num_readers=None,
                  num_preprocessing_threads=None, labels_offset=0, seed=None, balanced_labels=None,
                  prefetch_device=None, sampling_schedule=None):
    """Builds the batches of one split.

    Args:
      dataset: slim Dataset from `dataset_factory.get_dataset`.
      preprocessing_fn: `fn(image, height, width, add_image_summaries=...)`, from preprocessing_factory.
      image_size: output height and width.
      batch_size: examples per batch.
      is_training: endless, shuffled, full batches (True) or one ordered pass (False).
      num_readers: shards read in parallel when training (None: as many as the host has cores,
        their reads autotuned).
      num_preprocessing_threads: examples decoded and preprocessed in parallel (None: autotuned
        by tf.data from the host's cores).
      labels_offset: subtracted from every label (e.g. 1 for 1000-class VGG/ResNet on 1001-class data).
      seed: seed for shard order, shuffling and sampling; a seeded training pass also keeps its
        examples in that order across parallel readers and preprocessing threads, so the same
        seed reads the same examples into the same batches (their random augmentation follows
        the graph-level seed, drawn in the order the threads run). None: random, in the order
        threads finish.
      balanced_labels: when training, sample the examples of each of these labels (after the
        offset) equally often; each must occur in the split, or reading never ends. None: the
        split's own frequencies.
      sampling_schedule: with `balanced_labels`, a SamplingSchedule (one frequency per label)
        moving the sampling from balanced towards the split's frequencies; None: balanced throughout.
      prefetch_device: when training, a device (e.g. '/device:GPU:0') that batches are copied
        to ahead of use. Its iterator is initialised with the graph's tables (what
        slim.learning.train's local init op runs). None: batches stay on the host.

    Returns:
      {'images': float32 [batch, size, size, 3], 'labels': int64 [batch], 'filenames': string [batch]}
      from a one-shot iterator; after one pass, evaluation raises tf.errors.OutOfRangeError.
    """
    records = _read_records(list_shards(dataset), is_training, num_readers, seed)
    if is_training:
        if balanced_labels:
            records = _balanced(dataset, records, balanced_labels, labels_offset, seed, sampling_schedule)
        records = records.shuffle(SHUFFLE_BUFFER_BATCHES * batch_size, seed=seed)

    # An evaluation pass also carries the labels beyond the grade that the split's decoder has (patient, DME).
    extra_items = [] if is_training else [item for item, _ in dataset_utils.EXTRA_FEATURES.values()
                                          if item in dataset.decoder.list_items()]

    def decode_and_preprocess(serialized):
        image, label, filename = decode_example(dataset, serialized)
        image = preprocessing_fn(image, image_size, image_size, add_image_summaries=False)
        batch = {"images": image, "labels": label - labels_offset, "filenames": filename}
        batch.update(zip(extra_items, dataset.decoder.decode(serialized, extra_items)))
        return batch

    parallel_calls = tf.data.AUTOTUNE if num_preprocessing_threads is None else max(1, num_preprocessing_threads)
    batches = records.map(decode_and_preprocess, num_parallel_calls=parallel_calls,
                          deterministic=seed is not None or not is_training)
    batches = batches.batch(batch_size, drop_remainder=is_training).prefetch(tf.data.AUTOTUNE)
    if is_training and prefetch_device:
        return _on_device(batches, prefetch_device)
    return tf.data.make_one_shot_iterator(batches).get_next()


def _on_device(batches, device):
    """Returns the next element of `batches`, copied to `device` and prefetched there."""
    batches = batches.apply(tf.data.experimental.prefetch_to_device(device, buffer_size=2))
    # A dataset on a GPU cannot have a one-shot iterator; the iterator and its reads live on the device.
    with tf.device(device):
        iterator = tf.data.make_initializable_iterator(batches)
        tf.add_to_collection(tf.GraphKeys.TABLE_INITIALIZERS, iterator.initializer)
        return iterator.get_next()


def count_labels(dataset, num_classes, labels_offset=0):
    """Counts the examples of each class in a split by reading only the labels.

    Returns:
      A list of `num_classes` counts of label - `labels_offset` (labels outside
      0..num_classes-1 after the offset, e.g. unlabelled ones, are not counted).
    """
    with tf.Graph().as_default():
        labels = tf.data.TFRecordDataset(list_shards(dataset)).map(
            lambda serialized: _label_of(dataset, serialized) - labels_offset, num_parallel_calls=tf.data.AUTOTUNE)
        counts = labels.reduce(tf.zeros([num_classes], tf.int64), lambda total, label: total + tf.one_hot(
            label, num_classes, dtype=tf.int64))
        with tf.Session() as session:
            return [int(count) for count in session.run(counts)]
