"""The demo's setting and the Kaggle-mode recipe, with and without each addition, over several seeds, on a
Kaggle-skewed sample.

    python bench/bench_recipe.py [--seeds 3] [--steps 300] [--num_patients 100] [--configs demo,recipe]
    python bench/bench_recipe.py --configs recipe --sample_seeds 1,2,3,4,5 --seeds 3 \
        --num_patients 200 --validation_size 120                     # the worst case over draws x seeds

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

With `--sample_seeds`, every configuration and seed runs once on each of several samples (the
same generator and frequencies, other patients; the camera variety is in every sample), and
each run is also printed as one row: QWK, mean recall and accuracy of the model's own grades
(what the recipe's summary calls the trained model: for the `recipe*` configurations, the
class-prior-corrected score cut at the frequency cuts fitted on the training split, as
RECIPE=kaggle does), of the corrected score rounded instead, and of the grades before the
class-prior correction (grading.class_prior: what balanced sampling left them, a regression
head's output rounded), next to the majority-class baseline's accuracy on that draw. The last
table gives each configuration's worst run, not only the mean: the lowest QWK and mean recall,
and the runs whose grades were less accurate than the baseline.

Per row it prints mean ± standard deviation over runs of: QWK, mean per-grade recall
(Mean_Recall: QWK alone hides rare grades never predicted), accuracy, referable AUC and referable
sensitivity at specificity 0.90. The figures come from a CPU-sized sample of a few dozen
validation images: they show direction and noise, not Kaggle performance.
"""
import argparse
import dataclasses
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
from evaluation import evaluate
from grading import class_prior, fitting, metrics, screening, thresholds
from inference import model_runner
from slim_compat import tf  # noqa: E402
from utils import model_description  # noqa: E402
import results_file  # noqa: E402

NUM_CLASSES = 5
# The demo's training flags (scripts/finetune_inception_v3_on_diabetic.sh), per configuration extra flags.
DEMO_FLAGS = ["--dataset_name=diabetic", "--dataset_split_name=train", "--model_name=inception_v3",
              "--preprocessing_name=fundus", "--batch_norm_decay=0.9", "--optimizer=adam", "--learning_rate=0.001",
              "--opt_epsilon=1e-8", "--learning_rate_decay_type=fixed", "--log_every_n_steps=50",
              "--save_summaries_secs=100000", "--save_interval_secs=100000"]
DECAY = ["--learning_rate_decay_type=polynomial", "--end_learning_rate=0.00001", "--num_epochs_per_decay={run_epochs}"]
REGRESSION = ["--regression_loss=smooth_l1"]
BALANCED = ["--balanced_sampling"]
# Balanced sampling moving to the training split's own frequencies by the last step (De Fauw, 5th place).
SCHEDULE = ["--balanced_sampling", "--balanced_sampling_end=0"]
# name: (extra training flags, TFRecords folder); `{run_epochs}` becomes the run's length in epochs.
TRAINED_CONFIGS = {
    "demo": ([], "tfrecords"),
    "recipe": (BALANCED + REGRESSION + DECAY, "tfrecords"),
    "recipe_schedule": (SCHEDULE + REGRESSION + DECAY, "tfrecords"),
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
    parser.add_argument("--sample_seeds", default=None,
                        help="comma-separated seeds of several samples, each trained on (overrides --sample_seed)")
    parser.add_argument("--configs", default="demo,recipe",
                        help=f"trained configurations, of {', '.join(TRAINED_CONFIGS)}")
    parser.add_argument("--output_dir", default=None, help="working folder (default: a temporary one)")
    parser.add_argument("--no_tta", action="store_true", help="leave out the TTA rows (8 passes per run)")
    parser.add_argument("--results_file", default=None, help=results_file.HELP)
    return parser.parse_args()


def prepare_data(work_dir, args, configs, sample_seed):
    """Writes the Kaggle-skewed sample and converts it as the configurations need; returns its folder."""
    dataset_dir = os.path.join(work_dir, f"kaggle_sample_seed{sample_seed}")
    if not os.path.exists(os.path.join(dataset_dir, "trainLabels.csv")):
        kaggle_sample.write_kaggle_sample(dataset_dir, args.num_patients, (800, 1200), seed=sample_seed,
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


def recorded_model(train_dir):
    """The model_runner.ModelConfig of the run's recorded description (its network, size, regression head and
    class-prior correction), as eval builds it; no fitted cuts."""
    config = model_runner.ModelConfig.from_description(model_description.for_checkpoint(train_dir))
    return dataclasses.replace(config, thresholds=None)


def validation_predictions(train_dir, tfrecords_dir, tta=False, split="validation", cuts=None):
    """The run's predictions on `split`, graded as eval grades them: with its recorded class-prior correction,
    cut at `cuts` (else rounded with a regression head, else the argmax)."""
    dataset = dataset_factory.get_dataset("diabetic", split, tfrecords_dir)
    config = dataclasses.replace(recorded_model(train_dir), tta=tta, thresholds=tuple(cuts) if cuts else None)
    split_input = evaluate.dataset_input(dataset, NUM_CLASSES, batch_size=32)
    return model_runner.collect_predictions(tf.train.latest_checkpoint(train_dir), config, split_input.make_batches,
                                            split_input.num_samples)


def frequency_cuts(config, train_dir, tfrecords_dir):
    """The cuts RECIPE=kaggle fits on the training split (python -m evaluation.frequency_cuts) for a `recipe*`
    configuration with a class-prior correction; else None."""
    if not config.startswith("recipe") or recorded_model(train_dir).prior_factors is None:
        return None
    train = validation_predictions(train_dir, tfrecords_dir, split="train")
    return class_prior.fit_frequency_cuts(train.labels, train.scores, NUM_CLASSES, "train")["thresholds"]


def figures(predictions, grades):
    """QWK, mean recall, accuracy, referable AUC and sensitivity at specificity 0.90 of `grades`."""
    matrix = metrics.confusion_matrix(predictions.labels, grades, NUM_CLASSES)
    referable = predictions.labels >= metrics.REFERABLE_GRADE
    scores = metrics.referable_probability(predictions.probabilities)
    points = screening.screening_operating_points(referable, scores)
    return {"QWK": metrics.quadratic_weighted_kappa(matrix),
            "mean recall": metrics.mean_recall(metrics.per_grade_recall(matrix)),
            "accuracy": float(np.mean(np.asarray(grades) == predictions.labels)),
            "referable AUC": metrics.roc_auc(referable, scores),
            "sens@spec0.90": points["Referable_Sensitivity_at_Specificity90"][0]}


def uncorrected_grades(predictions, regression, factors):
    """The grades as trained, before the class-prior correction with `factors`: a regression head's output
    rounded, else the argmax of the probabilities the softmax gave (the correction only reweighs them)."""
    if regression:
        return thresholds.apply_thresholds(predictions.regression, thresholds.rounding_thresholds(NUM_CLASSES))
    return class_prior.corrected(predictions.probabilities, 1.0 / np.asarray(factors)).argmax(axis=1)


ROUNDED, BEFORE = "the corrected score rounded (no frequency cuts)", "before the class-prior correction"


def rows_of_run(config, predictions, tta_predictions, model):
    """{row name: figures} for one trained run (`model`: its recorded_model): its own grades, then with each
    addition needing no training."""
    rows = {config: figures(predictions, predictions.grades)}
    regression, factors = model.regression, model.prior_factors
    if factors is not None:
        rounding = model.grade_cuts()
        rows[f"{config}, {ROUNDED}"] = figures(predictions, thresholds.apply_thresholds(predictions.scores, rounding)
                                               if rounding else predictions.probabilities.argmax(axis=1))
        rows[f"{config}, {BEFORE}"] = figures(predictions, uncorrected_grades(predictions, regression, factors))
    if regression:
        rows[f"{config}, softmax argmax instead"] = figures(predictions, predictions.probabilities.argmax(axis=1))
    rows[f"{config} + QWK thresholds"] = figures(
        predictions, fitting.cross_fitted_threshold_grades(predictions, NUM_CLASSES))
    rows[f"{config} + two-eye fusion"] = figures(
        predictions, fitting.cross_fitted_fusion_grades(predictions, NUM_CLASSES))
    if tta_predictions is not None:
        rows[f"{config} + TTA"] = figures(tta_predictions, tta_predictions.grades)
        rows[f"{config} + TTA + two-eye fusion"] = figures(
            tta_predictions, fitting.cross_fitted_fusion_grades(tta_predictions, NUM_CLASSES))
    return rows


def print_table(results, runs):
    names = list(next(iter(results.values()))[0])
    print(f"\n| setting ({runs} runs: mean ± sd) | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row, per_seed in results.items():
        cells = []
        for name in names:
            values = np.array([figures_of_seed[name] for figures_of_seed in per_seed], dtype=float)
            cells.append(f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}")
        print(f"| {row} | " + " | ".join(cells) + " |")


def majority_accuracy(tfrecords_dir, labels):
    """The majority-class baseline's accuracy on `labels`: every image given the training split's commonest grade."""
    from datasets import input_pipeline
    train = dataset_factory.get_dataset("diabetic", "train", tfrecords_dir)
    return float(np.mean(labels == int(np.argmax(input_pipeline.count_labels(train, NUM_CLASSES)))))


def print_runs(runs):
    """One row per run: the model's own grades, the corrected score rounded and the grades before the correction,
    each QWK / mean recall / accuracy, against the majority-class baseline's accuracy."""
    print("\n| sample seed | training seed | setting | majority baseline's accuracy | own grades: QWK / mean recall / "
          f"accuracy | {ROUNDED} | {BEFORE} |")
    print("|---" * 7 + "|")
    for run in runs:
        cells = [f"{run['majority']:.3f}"]
        for kind in ("own", "rounded", "before"):
            values = run.get(kind)
            cell = " / ".join(f"{values[name]:.3f}" for name in ("QWK", "mean recall", "accuracy")) if values else ""
            if values and values["accuracy"] < run["majority"]:
                cell += " **below**"
            cells.append(cell)
        print(f"| {run['sample_seed']} | {run['seed']} | {run['config']} | " + " | ".join(cells) + " |")


def print_worst(runs):
    """Per configuration and way of grading, over all runs: the worst QWK and mean recall, the lowest accuracy
    less the baseline's, the runs below the baseline's accuracy, and the mean of each figure."""
    print("\n| setting | runs | worst QWK | worst mean recall | lowest accuracy - baseline's | runs below the baseline "
          "| mean QWK | mean mean recall |")
    print("|---" * 8 + "|")
    for config in dict.fromkeys(run["config"] for run in runs):
        mine = [run for run in runs if run["config"] == config]
        for kind, label in (("own", "own grades"), ("rounded", ROUNDED), ("before", BEFORE)):
            if not all(run.get(kind) for run in mine):
                continue
            values = [run[kind] for run in mine]
            margins = [value["accuracy"] - run["majority"] for value, run in zip(values, mine)]
            cells = [str(len(mine)), f"{min(value['QWK'] for value in values):.3f}",
                     f"{min(value['mean recall'] for value in values):.3f}", f"{min(margins):+.3f}",
                     str(sum(margin < 0 for margin in margins)),
                     f"{np.mean([value['QWK'] for value in values]):.3f}",
                     f"{np.mean([value['mean recall'] for value in values]):.3f}"]
            print(f"| {config}: {label} | " + " | ".join(cells) + " |")


def main():
    args = parse_args()
    with results_file.recording(args.results_file, "bench_recipe"):
        run(args)


def run(args):
    """Trains and grades every configuration and seed on every sample, then prints the tables."""
    configs = args.configs.split(",")
    unknown = sorted(set(configs) - set(TRAINED_CONFIGS))
    if unknown:
        sys.exit(f"bench_recipe.py: --configs: unknown {', '.join(unknown)}; known: {', '.join(TRAINED_CONFIGS)}")
    sample_seeds = [int(seed) for seed in args.sample_seeds.split(",")] if args.sample_seeds else [args.sample_seed]
    work_dir = args.output_dir or tempfile.mkdtemp(prefix="bench_recipe_")
    start = time.time()
    results, runs, grade_counts = {}, [], []
    for sample_seed in sample_seeds:
        dataset_dir = prepare_data(work_dir, args, configs, sample_seed)
        sizes = dataset_factory.get_dataset("diabetic", "validation", os.path.join(dataset_dir, "tfrecords"))
        print(f"Sample {sample_seed} in {dataset_dir}: {sizes.num_samples} validation images; "
              f"{time.time() - start:.0f}s so far", flush=True)
        for seed in range(args.seeds):
            for config in configs:
                extra_flags, tfrecords = TRAINED_CONFIGS[config]
                tfrecords_dir = os.path.join(dataset_dir, tfrecords)
                train_dir = os.path.join(work_dir, f"sample{sample_seed}_{config}_seed{seed}")
                run_start = time.time()
                train_images = dataset_factory.get_dataset("diabetic", "train", tfrecords_dir).num_samples
                run_epochs = args.steps * args.batch_size / train_images
                train(train_dir, tfrecords_dir, [flag.format(run_epochs=run_epochs) for flag in extra_flags], seed,
                      args)
                cuts = frequency_cuts(config, train_dir, tfrecords_dir)
                predictions = validation_predictions(train_dir, tfrecords_dir, cuts=cuts)
                tta_predictions = (None if args.no_tta else
                                   validation_predictions(train_dir, tfrecords_dir, tta=True, cuts=cuts))
                rows = rows_of_run(config, predictions, tta_predictions, recorded_model(train_dir))
                for row, values in rows.items():
                    results.setdefault(row, []).append(values)
                    print(f"sample {sample_seed} seed {seed} {row}: "
                          + ", ".join(f"{name} {value:.3f}" for name, value in values.items()))
                majority = majority_accuracy(tfrecords_dir, predictions.labels)
                runs.append({"sample_seed": sample_seed, "seed": seed, "config": config, "own": rows[config],
                             "rounded": rows.get(f"{config}, {ROUNDED}"), "before": rows.get(f"{config}, {BEFORE}"),
                             "majority": majority})
                print(f"  majority-class baseline's accuracy {majority:.3f} ({time.time() - run_start:.0f}s; "
                      f"{time.time() - start:.0f}s in all)", flush=True)
        grade_counts.append(np.bincount(predictions.labels, minlength=NUM_CLASSES).tolist())
    print(f"\nValidation grades per sample (grades 0-4): {grade_counts}; "
          f"{args.steps} steps of {args.batch_size} at {args.image_size}px from random initialisation; "
          f"{time.time() - start:.0f}s in all")
    print_table(results, len(sample_seeds) * args.seeds)
    print_runs(runs)
    print_worst(runs)


if __name__ == "__main__":
    main()
