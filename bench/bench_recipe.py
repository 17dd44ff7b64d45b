"""The demo's setting and the Kaggle-mode recipe, with and without each addition, over several seeds, on a
Kaggle-skewed sample.

    python bench/bench_recipe.py [--seeds 3] [--steps 300] [--num_patients 100] [--configs demo,recipe]

It writes an embedded sample with Kaggle's grade frequencies (73.5/6.9/15.1/2.5/2.0 %), converts
it (patient split stratified by grade; for `graham` again with Graham's normalisation), trains
Inception V3 from random initialisation with the demo's settings (the demo's sizes by default)
once per configuration and seed (`--seed`), and evaluates each run on the validation split.
Configurations that change training: `demo` (the book demo's settings), `recipe` (what
`RECIPE=kaggle` adds from random initialisation: balanced sampling, a smooth-L1 grade regression
head, the learning rate falling linearly to ~0 over the run), and one addition at a time:
`regression`, `balanced`, `decay`, `graham`. Per run, the model's own grades (a regression
head's output rounded, else the softmax's argmax) and the additions needing no training: QWK
thresholds on the grade score, the two-eye fusion, test-time augmentation (8 flips and turns).
Thresholds and fusions are cross-fitted: fitted on one half of the validation patients and
applied to the other, both ways, so no figure is fitted on the images it is measured on.

Per row it prints mean ± standard deviation over seeds of: QWK, mean per-grade recall
(Mean_Recall: QWK alone hides rare grades never predicted), referable AUC and referable
sensitivity at specificity 0.90. The figures come from a CPU-sized sample of a few dozen
validation images: they show direction and noise, not Kaggle performance.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import slim_compat  # noqa: E402,F401  (first: repairs tf-slim for this TensorFlow)
from absl import flags as absl_flags  # noqa: E402

import train_image_classifier  # noqa: E402
from datasets import dataset_factory, kaggle_sample  # noqa: E402
from datasets import download_and_convert_diabetic as convert  # noqa: E402
from evaluation import evaluate, evaluator, grading, metrics, screening  # noqa: E402
from slim_compat import tf  # noqa: E402

NUM_CLASSES = 5
# The demo's training flags (scripts/finetune_inception_v3_on_diabetic.sh), per configuration extra flags.
DEMO_FLAGS = ["--dataset_name=diabetic", "--dataset_split_name=train", "--model_name=inception_v3",
              "--preprocessing_name=fundus", "--batch_norm_decay=0.9", "--optimizer=adam", "--learning_rate=0.001",
              "--opt_epsilon=1e-8", "--learning_rate_decay_type=fixed", "--log_every_n_steps=50",
              "--save_summaries_secs=100000", "--save_interval_secs=100000"]
DECAY = ["--learning_rate_decay_type=polynomial", "--end_learning_rate=0.00001", "--num_epochs_per_decay={run_epochs}"]
REGRESSION = ["--regression_loss=smooth_l1"]
BALANCED = ["--balanced_sampling"]
# name: (extra training flags, TFRecords folder); `{run_epochs}` becomes the run's length in epochs.
TRAINED_CONFIGS = {
    "demo": ([], "tfrecords"),
    "recipe": (BALANCED + REGRESSION + DECAY, "tfrecords"),
    "regression": (REGRESSION, "tfrecords"),
    "balanced": (BALANCED, "tfrecords"),
    "decay": (DECAY, "tfrecords"),
    "graham": ([], "tfrecords_graham"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per configuration")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run")
    parser.add_argument("--num_patients", type=int, default=100, help="labelled patients (two eyes each)")
    parser.add_argument("--validation_size", type=int, default=60, help="validation images")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--sample_seed", type=int, default=13, help="seed of the generated sample")
    parser.add_argument("--configs", default="demo,recipe",
                        help=f"trained configurations, of {', '.join(TRAINED_CONFIGS)}")
    parser.add_argument("--output_dir", default=None, help="working folder (default: a temporary one)")
    return parser.parse_args()


def prepare_data(work_dir, args, configs):
    """Writes the Kaggle-skewed sample and converts it as the configurations need; returns its folder."""
    dataset_dir = os.path.join(work_dir, "kaggle_sample")
    if not os.path.exists(os.path.join(dataset_dir, "trainLabels.csv")):
        kaggle_sample.write_kaggle_sample(dataset_dir, args.num_patients, (800, 1200), seed=args.sample_seed,
                                          grade_weights=kaggle_sample.KAGGLE_GRADE_WEIGHTS)
    for graham in sorted({TRAINED_CONFIGS[name][1] == "tfrecords_graham" for name in configs}):
        convert.run(dataset_dir, validation_size=args.validation_size, image_size=args.image_size, graham=graham)
    return dataset_dir


def train(train_dir, tfrecords_dir, extra_flags, seed, args):
    """Trains one run in this process (TensorFlow is imported once)."""
    absl_flags.FLAGS.unparse_flags()
    absl_flags.FLAGS(["train_image_classifier.py", f"--train_dir={train_dir}", f"--dataset_dir={tfrecords_dir}",
                      f"--train_image_size={args.image_size}", f"--batch_size={args.batch_size}",
                      f"--max_number_of_steps={args.steps}", f"--seed={seed}", *DEMO_FLAGS, *extra_flags])
    train_image_classifier.main(None)


def validation_predictions(train_dir, tfrecords_dir, regression, args, tta=False):
    dataset = dataset_factory.get_dataset("diabetic", "validation", tfrecords_dir)
    config = evaluator.ModelConfig("inception_v3", NUM_CLASSES, preprocessing_name="fundus",
                                   image_size=args.image_size, regression=regression, tta=tta)
    split_input = evaluate.dataset_input(dataset, NUM_CLASSES, batch_size=32)
    return evaluator.collect_predictions(tf.train.latest_checkpoint(train_dir), config, split_input.make_batches,
                                         split_input.num_samples)


def figures(predictions, grades):
    """QWK, mean recall, referable AUC and sensitivity at specificity 0.90 of `grades`."""
    matrix = metrics.confusion_matrix(predictions.labels, grades, NUM_CLASSES)
    referable = predictions.labels >= metrics.REFERABLE_GRADE
    scores = metrics.referable_probability(predictions.probabilities)
    points = screening.screening_operating_points(referable, scores)
    return {"QWK": metrics.quadratic_weighted_kappa(matrix),
            "mean recall": metrics.mean_recall(metrics.per_grade_recall(matrix)),
            "referable AUC": metrics.roc_auc(referable, scores),
            "sens@spec0.90": points["Referable_Sensitivity_at_Specificity90"][0]}


def rows_of_run(config, predictions, tta_predictions, regression):
    """{row name: figures} for one trained run: its own grades, then with each addition needing no training."""
    rows = {config: figures(predictions, predictions.grades)}
    if regression:
        rows[f"{config}, softmax argmax instead"] = figures(predictions, predictions.probabilities.argmax(axis=1))
    rows[f"{config} + QWK thresholds"] = figures(
        predictions, grading.cross_fitted_threshold_grades(predictions, NUM_CLASSES))
    rows[f"{config} + two-eye fusion"] = figures(
        predictions, grading.cross_fitted_fusion_grades(predictions, NUM_CLASSES))
    rows[f"{config} + TTA"] = figures(tta_predictions, tta_predictions.grades)
    rows[f"{config} + TTA + two-eye fusion"] = figures(
        tta_predictions, grading.cross_fitted_fusion_grades(tta_predictions, NUM_CLASSES))
    return rows


def print_table(results, seeds):
    names = list(next(iter(results.values()))[0])
    print(f"\n| setting ({seeds} seeds: mean ± sd) | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row, per_seed in results.items():
        cells = []
        for name in names:
            values = np.array([figures_of_seed[name] for figures_of_seed in per_seed], dtype=float)
            cells.append(f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}")
        print(f"| {row} | " + " | ".join(cells) + " |")


def main():
    args = parse_args()
    configs = args.configs.split(",")
    unknown = sorted(set(configs) - set(TRAINED_CONFIGS))
    if unknown:
        sys.exit(f"bench_recipe.py: --configs: unknown {', '.join(unknown)}; known: {', '.join(TRAINED_CONFIGS)}")
    work_dir = args.output_dir or tempfile.mkdtemp(prefix="bench_recipe_")
    start = time.time()
    dataset_dir = prepare_data(work_dir, args, configs)
    sizes = dataset_factory.get_dataset("diabetic", "validation", os.path.join(dataset_dir, "tfrecords"))
    print(f"Sample in {dataset_dir}: {sizes.num_samples} validation images; prepared in {time.time() - start:.0f}s")
    results = {}
    for seed in range(args.seeds):
        for config in configs:
            extra_flags, tfrecords = TRAINED_CONFIGS[config]
            tfrecords_dir = os.path.join(dataset_dir, tfrecords)
            train_dir = os.path.join(work_dir, f"{config}_seed{seed}")
            run_start = time.time()
            train_images = dataset_factory.get_dataset("diabetic", "train", tfrecords_dir).num_samples
            run_epochs = args.steps * args.batch_size / train_images
            train(train_dir, tfrecords_dir, [flag.format(run_epochs=run_epochs) for flag in extra_flags], seed, args)
            regression = REGRESSION[0] in extra_flags
            predictions = validation_predictions(train_dir, tfrecords_dir, regression, args)
            tta_predictions = validation_predictions(train_dir, tfrecords_dir, regression, args, tta=True)
            for row, values in rows_of_run(config, predictions, tta_predictions, regression).items():
                results.setdefault(row, []).append(values)
                print(f"seed {seed} {row}: " + ", ".join(f"{name} {value:.3f}" for name, value in values.items()))
            print(f"  ({time.time() - run_start:.0f}s; {time.time() - start:.0f}s in all)", flush=True)
    labels = predictions.labels
    print(f"\nValidation grades: {np.bincount(labels, minlength=NUM_CLASSES).tolist()} (grades 0-4); "
          f"{args.steps} steps of {args.batch_size} at {args.image_size}px from random initialisation; "
          f"{time.time() - start:.0f}s in all")
    print_table(results, args.seeds)


if __name__ == "__main__":
    main()
