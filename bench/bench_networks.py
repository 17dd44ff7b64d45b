"""Training-step cost per image of each network at its default image size, on this machine's CPU.

    python bench/bench_networks.py [--models=inception_v3,inception_v4] [--batch_size=2] [--steps=3]

Each network trains all its layers on random images for 5 classes with train_image_classifier.py's
own step under its default flags (trainer.single_clone_step: the cross-entropy of its logits and
auxiliary logits plus weight decay, RMSProp, batch-norm updates), minus the input pipeline. Inception V3,
the project's default, is measured in the same run as the baseline of the ratio column. Rows
print as Markdown table rows; --results_file docs/results.md writes them into its Networks section.

The cost is in core-seconds (CPU time of all of the process's threads), which other processes
on a shared machine barely change; the wall-clock seconds, which they do change, print beside it.
"""
import os
import sys
import time
import types

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nets import nets_factory  # noqa: E402
from slim_compat import tf  # noqa: E402
from training import precision, trainer  # noqa: E402
import results_file  # noqa: E402
import train_image_classifier  # noqa: E402, F401  (defines training's flags: the step is built from them)

flags.DEFINE_list("models", None, "networks to time (names of nets_factory); default: all but the video networks")
flags.DEFINE_integer("steps", 3, "training steps timed, after one warm-up step")
results_file.define_flag()
FLAGS = flags.FLAGS
FLAGS.set_default("batch_size", 2)  # training's --batch_size: images per training step
BASELINE = "inception_v3"
NUM_CLASSES = 5


def seconds_per_image(model_name, batch_size, steps):
    """Builds `model_name`'s training step at its default size.

    Returns:
      (image size, core-seconds per image, wall-clock seconds per image).
    """
    settings = types.SimpleNamespace(**{**FLAGS.flag_values_dict(), "model_name": model_name})
    size = trainer.training_network(settings, NUM_CLASSES).default_image_size
    with tf.Graph().as_default():
        images = tf.random.uniform([batch_size, size, size, 3], -1.0, 1.0)
        labels = tf.random.uniform([batch_size], 0, NUM_CLASSES, dtype=tf.int64)
        train_op = trainer.single_clone_step(settings, images, labels, NUM_CLASSES, num_samples=batch_size)
        with tf.Session(config=precision.session_config()) as session:
            session.run(tf.global_variables_initializer())
            session.run(train_op)  # warm-up: graph optimisation, memory allocation
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for _ in range(steps):
                session.run(train_op)
            images = steps * batch_size
            return size, (time.process_time() - cpu_start) / images, (time.perf_counter() - wall_start) / images


def main(_):
    models = FLAGS.models or [name for name in nets_factory.networks_map if name not in nets_factory.VIDEO_NETWORKS]
    unknown = sorted(set(models) - set(nets_factory.networks_map) | set(models) & set(nets_factory.VIDEO_NETWORKS))
    if unknown:
        raise app.UsageError(f"--models: {', '.join(unknown)}: not an image network of nets_factory")
    timed = [BASELINE] + [name for name in models if name != BASELINE]
    print(f"CPU training step, batch {FLAGS.batch_size}, {os.cpu_count()} cores; ratio of core-seconds "
          f"against {BASELINE}")
    print(f"| network | default size | core-s / image | wall s / image | vs {BASELINE} |")
    baseline = None
    for name in timed:
        size, core_seconds, wall_seconds = seconds_per_image(name, FLAGS.batch_size, FLAGS.steps)
        baseline = baseline or core_seconds
        if name in models:
            print(f"| {name} | {size} | {core_seconds:.3f} | {wall_seconds:.3f} | {core_seconds / baseline:.3f} |",
                  flush=True)


if __name__ == "__main__":
    app.run(results_file.recorded(main, "bench_networks"))
