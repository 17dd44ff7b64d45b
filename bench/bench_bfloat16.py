"""The CPU demo's training in float32 and in mixed bfloat16, interleaved, in one run.

    python bench/bench_bfloat16.py                                   # small: 1 seed, 30 steps, 40 patients
    python bench/bench_bfloat16.py --seeds 3 --steps 300 --num_patients 100    # the demo's sizes

It writes the demo's embedded sample (scripts/finetune_inception_v3_on_diabetic.sh: its grade
distribution and sample seed), converts it at the demo's image size, then for each training seed
trains Inception V3 from random initialisation with the demo's settings twice, float32
(--nomixed_precision) then `--mixed_precision --mixed_precision_dtype=bfloat16` (oneDNN's rewrite;
fast on CPUs with AVX512-BF16 or AMX), and evaluates each run on the validation split. Time per step
is the median of the steps' own session.run times after the first few (graph optimisation, oneDNN's
kernel choice), so graph building and checkpoint writes do not count. Each run is printed, then the
mean per precision and bfloat16's speed (steps per second) against the float32 runs of this same
invocation (other jobs on the machine slow both alike when they are interleaved).
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import slim_compat  # noqa: E402,F401  (first: repairs tf-slim for this TensorFlow)

import bench_recipe  # noqa: E402  (the demo's training flags and the validation predictions)
from datasets import kaggle_sample  # noqa: E402
from datasets import download_and_convert_diabetic as convert  # noqa: E402
from grading import metrics  # noqa: E402
from training import precision, train_step, trainer  # noqa: E402

PRECISIONS = {"float32": ["--nomixed_precision"], "bfloat16": ["--mixed_precision", "--mixed_precision_dtype=bfloat16"]}
WARMUP_STEPS = 3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1, help="training seeds, each trained in both precisions")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (the demo: 300)")
    parser.add_argument("--num_patients", type=int, default=40, help="labelled patients (the demo: 100)")
    parser.add_argument("--validation_size", type=int, default=20, help="validation images (the demo: 60)")
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--output_dir", default=None, help="working folder (default: a temporary one)")
    return parser.parse_args()


def timed_step_fn(step_seconds):
    """Wraps train_step.make_train_step_fn so that each step's session.run time is appended to `step_seconds`."""

    def make(*args, **kwargs):
        step_fn = train_step.make_train_step_fn(*args, **kwargs)

        def timed(session, *step_args):
            start = time.perf_counter()
            result = step_fn(session, *step_args)
            step_seconds.append(time.perf_counter() - start)
            return result

        return timed

    return make


def train_and_evaluate(work_dir, tfrecords_dir, name, seed, args):
    """Trains one run; returns its seconds per step and validation figures."""
    train_dir = os.path.join(work_dir, f"{name}_seed{seed}")
    step_seconds = []
    trainer.make_train_step_fn = timed_step_fn(step_seconds)
    bench_recipe.train(train_dir, tfrecords_dir, PRECISIONS[name], seed, args)
    predictions = bench_recipe.validation_predictions(train_dir, tfrecords_dir)
    matrix = metrics.confusion_matrix(predictions.labels, predictions.grades, bench_recipe.NUM_CLASSES)
    return {"sec/step": float(np.median(step_seconds[WARMUP_STEPS:] or step_seconds)),
            "QWK": metrics.quadratic_weighted_kappa(matrix),
            "mean recall": metrics.mean_recall(metrics.per_grade_recall(matrix))}


def main():
    args = parse_args()
    work_dir = args.output_dir or tempfile.mkdtemp(prefix="bench_bfloat16_")
    dataset_dir = os.path.join(work_dir, f"kaggle_sample_{args.num_patients}")
    if not os.path.exists(os.path.join(dataset_dir, "trainLabels.csv")):
        kaggle_sample.write_kaggle_sample(dataset_dir, args.num_patients, seed=0, with_test=True)
    convert.run(dataset_dir, validation_size=args.validation_size, image_size=args.image_size)
    tfrecords_dir = os.path.join(dataset_dir, "tfrecords")
    flags = precision.cpu_flags()
    print(f"CPU bfloat16 support: {precision.cpu_bfloat16_support(flags) or 'none'}; "
          f"{args.steps} steps of {args.batch_size} images at {args.image_size}px per run")
    runs = []
    for seed in range(1, args.seeds + 1):
        for name in PRECISIONS:
            runs.append((name, seed, train_and_evaluate(work_dir, tfrecords_dir, name, seed, args)))
            print(f"{name} seed {seed}: " + ", ".join(f"{key} {value:.3f}" for key, value in runs[-1][2].items()),
                  flush=True)
    print("\n| precision | runs | sec/step | QWK | mean recall | speed vs float32 |\n|---|---|---|---|---|---|")
    means = {name: {key: np.mean([figures[key] for run_name, _, figures in runs if run_name == name])
                    for key in ("sec/step", "QWK", "mean recall")} for name in PRECISIONS}
    for name, figures in means.items():
        print(f"| {name} | {args.seeds} | {figures['sec/step']:.3f} | {figures['QWK']:.3f} | "
              f"{figures['mean recall']:.3f} | {means['float32']['sec/step'] / figures['sec/step']:.2f}x |")


if __name__ == "__main__":
    main()
