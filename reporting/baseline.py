"""Puts models' validation figures next to the majority-class baseline's, from eval's predictions CSVs.

The baseline predicts the training split's most common grade for every image. Its
accuracy is the share of that grade (high on Kaggle's data, where 73 % are grade 0),
its QWK is 0 by definition (a constant prediction agrees only by chance), so a model's
QWK above 0 is what it learned beyond the grade frequencies.

    python -m reporting.baseline --dataset_dir=DIR/tfrecords \
        --predictions=untrained=EVAL0/predictions.csv --predictions=trained=EVAL/predictions.csv
"""
import csv
import sys

import numpy as np

from grading import metrics

SHOWN_METRICS = ("QuadraticWeightedKappa", "Mean_Recall", "Accuracy", "Referable_AUC")
BASELINE_NAME = "majority-class baseline"


def read_predictions_csv(path):
    """Reads eval's `image,label,prediction,prob_0..prob_{n-1}` file.

    Returns:
      (labels [num_images] int64, probabilities [num_images, num_classes] float64, grades
      [num_images] int64: the `prediction` column, the grades the model gave; None without one).

    Raises:
      ValueError: the file has no `prob_` columns, no rows or a malformed row (named with its line).
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = [name for name in reader.fieldnames or () if name.startswith("prob_")]
        if "label" not in (reader.fieldnames or ()) or not columns:
            raise ValueError(f"{path}: not an eval predictions file (needs label and prob_* columns)")
        has_grades = "prediction" in reader.fieldnames
        labels, probabilities, grades = [], [], []
        for row in reader:
            try:
                labels.append(int(row["label"]))
                probabilities.append([float(row[name]) for name in columns])
                grades.append(int(row["prediction"]) if has_grades else None)
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{reader.line_num}: malformed row") from None
    if not labels:
        raise ValueError(f"{path}: no predictions")
    return (np.asarray(labels, dtype=np.int64), np.asarray(probabilities, dtype=np.float64),
            np.asarray(grades, dtype=np.int64) if has_grades else None)


def majority_baseline_metrics(train_label_counts, labels, dr_grades=True):
    """Returns the metrics of predicting the most common training grade for every one of `labels`.

    Args:
      train_label_counts: images per grade in the training split.
      labels: the true grades of the evaluated images.
      dr_grades: the labels are DR grades (metrics.compute_metrics).
    """
    num_classes = len(train_label_counts)
    constant = np.zeros((len(labels), num_classes))
    constant[:, int(np.argmax(train_label_counts))] = 1.0
    return metrics.compute_metrics(labels, constant, dr_grades)[0]


def summary_rows(train_label_counts, prediction_files, dr_grades=True):
    """Returns [(name, metrics)]: the majority-class baseline, then each model.

    Args:
      train_label_counts: images per grade in the training split.
      prediction_files: [(model name, eval predictions CSV)], all over the same split.
      dr_grades: the labels are DR grades (metrics.compute_metrics).

    Raises:
      ValueError: a file cannot be read, or the files cover different images.
    """
    rows = []
    first_labels = None
    for name, path in prediction_files:
        labels, probabilities, grades = read_predictions_csv(path)
        if first_labels is None:
            first_labels = labels
            rows.append((BASELINE_NAME, majority_baseline_metrics(train_label_counts, labels, dr_grades)))
        elif not np.array_equal(labels, first_labels):
            raise ValueError(f"{path}: its images differ from those of {prediction_files[0][1]}")
        rows.append((name, metrics.compute_metrics(labels, probabilities, dr_grades, grades)[0]))
    return rows


def below_majority_warning(name, labels, grades, majority_grade):
    """Returns a loud one-line WARNING when `grades` are less accurate than grading every image `majority_grade`.

    A model whose grades do worse than that constant has them shifted (e.g. healthy eyes
    called grade 1 after balanced sampling moved its output up), however well it orders the
    eyes. The line says how many of the majority grade's eyes it graded otherwise. None when
    its accuracy is at least the constant's.
    """
    labels, grades = np.asarray(labels), np.asarray(grades)
    accuracy, constant = float(np.mean(grades == labels)), float(np.mean(labels == majority_grade))
    if accuracy >= constant:
        return None
    majority = labels == majority_grade
    higher, lower = int(np.sum(grades[majority] > majority_grade)), int(np.sum(grades[majority] < majority_grade))
    moved = f"{higher} graded higher" + (f", {lower} lower" if lower else "")
    return (f"WARNING: {name}: accuracy {accuracy:.3f} is BELOW the majority-class baseline's {constant:.3f} "
            f"(every image grade {majority_grade}): of {int(majority.sum())} grade-{majority_grade} images, "
            f"{moved}. Its grades are shifted; do not use them as they are.")


def summary_warnings(train_label_counts, prediction_files, names):
    """Returns the below_majority_warning lines of the models in `names` (prediction_files as summary_rows')."""
    majority_grade = int(np.argmax(train_label_counts))
    lines = []
    for name, path in prediction_files:
        if name not in names:
            continue
        labels, probabilities, grades = read_predictions_csv(path)
        line = below_majority_warning(name, labels, probabilities.argmax(axis=1) if grades is None else grades,
                                      majority_grade)
        if line:
            lines.append(line)
    return lines


def format_summary(rows):
    """Returns the rows as an aligned text table, one line per model, of the SHOWN_METRICS they have."""
    shown = [key for key in SHOWN_METRICS if key in rows[0][1]]
    width = max(len(name) for name, _ in rows) + 2
    lines = ["".ljust(width) + "".join(name.rjust(24) for name in shown)]
    for name, values in rows:
        lines.append(name.ljust(width) + "".join(f"{values[key]:24.3f}" for key in shown))
    return "\n".join(lines)


def main(argv):
    from absl import flags

    from datasets import dataset_factory, input_pipeline

    del argv
    options = flags.FLAGS
    try:
        train = dataset_factory.get_dataset(options.dataset_name, "train", options.dataset_dir)
        counts = input_pipeline.count_labels(train, train.num_classes)
        named_files = [entry.split("=", 1) for entry in options.predictions]
        if any(len(pair) != 2 for pair in named_files):
            raise ValueError("--predictions takes NAME=FILE")
        rows = summary_rows(counts, named_files, dataset_factory.has_dr_grades(options.dataset_name))
        checked = options.warn_below_baseline or [name for name, _ in named_files]
        warnings = summary_warnings(counts, named_files, checked)
    except (OSError, ValueError) as error:
        sys.exit(f"baseline: {error}")
    print(f"Validation figures ({len(rows) - 1} model(s) against the majority-class baseline):")
    print(format_summary(rows))
    for line in warnings:
        print(f"\n{'!' * 100}\n{line}\n{'!' * 100}")


def define_flags():
    """Defines this module's command-line flags (only when run as a script)."""
    from absl import flags

    flags.DEFINE_string("dataset_dir", None, "The folder with the TFRecords; the majority grade comes "
                        "from its train split.")
    flags.DEFINE_string("dataset_name", "diabetic", "The name of the dataset.")
    flags.DEFINE_multi_string("predictions", [], "NAME=FILE: an eval --predictions_file to compare; repeat.")
    flags.DEFINE_multi_string("warn_below_baseline", [], "NAME of a model to check: a WARNING is printed when its "
                              "accuracy is below the majority-class baseline's; repeat. Default: every model.")
    flags.mark_flag_as_required("dataset_dir")


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
