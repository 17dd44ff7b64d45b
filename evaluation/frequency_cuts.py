"""Records the frequency cuts of a balanced-sampling model: `python -m evaluation.frequency_cuts`.

Grades the training split with the checkpoint and records, in its run settings, the cuts of the
grade score at the quantiles of the split's own grade frequencies (grading.class_prior explains
why; RECIPE=kaggle runs this after training):

    python -m evaluation.frequency_cuts --checkpoint_path=TRAIN --dataset_dir=DIR/tfrecords
"""
import sys

from absl import app, flags, logging

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from datasets import dataset_factory
from evaluation import evaluate
from grading import class_prior
from inference import model_flags, model_runner
from utils import checkpoint_files, flag_checks, model_description


def main(argv):
    del argv
    options = flags.FLAGS
    try:
        description = model_flags.read_description(options.checkpoint_path)
        flag_checks.positive(options, "batch_size", "num_preprocessing_threads", "eval_image_size")
        dataset = dataset_factory.get_dataset(description.dataset_name, options.dataset_split_name,
                                              options.dataset_dir)
        num_classes = dataset.num_classes - description.labels_offset
        config = model_flags.model_config(model_flags.with_num_classes(description, num_classes))
        checkpoint = checkpoint_files.resolve(options.checkpoint_path)
        split_input = evaluate.dataset_input(dataset, num_classes, options.batch_size,
                                             options.num_preprocessing_threads, description.labels_offset)
        predictions = model_runner.collect_predictions(checkpoint, config, split_input.make_batches,
                                                       split_input.num_samples, shards=split_input.shards)
        record = class_prior.fit_frequency_cuts(predictions.labels, predictions.scores, num_classes,
                                                f"{checkpoint} on {split_input.source}")
    except ValueError as error:
        sys.exit(f"frequency_cuts: {error}")
    where = model_description.record_grading(checkpoint, model_description.Grading(
        frequency_cuts=model_description.FrequencyCuts.from_json(record)))
    logging.info("Recorded the frequency cuts in %s", where)
    print(f"Frequency cuts of the grade score on {options.dataset_split_name} ({len(predictions.labels)} images, "
          f"grades {', '.join(f'{share:.3f}' for share in record['frequencies'])}): "
          f"{', '.join(f'{cut:.3f}' for cut in record['thresholds'])}")


def define_flags():
    """Defines this module's command-line flags (only when run as a script)."""
    model_flags.define_model_flags()
    model_flags.define_batch_flags()
    flags.DEFINE_string("dataset_name", "diabetic", "The name of the dataset.")
    flags.DEFINE_string("dataset_split_name", "train", "The split whose images and grade frequencies give the cuts.")
    flags.DEFINE_string("dataset_dir", None, "The folder with the TFRecords.")
    flags.mark_flag_as_required("dataset_dir")


if __name__ == "__main__":
    define_flags()
    app.run(main)
