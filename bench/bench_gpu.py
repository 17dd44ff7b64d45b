"""Inception V3 training images/s on this machine: synthetic in-memory inputs vs real TFRecords.

    python bench/bench_gpu.py            # on a GPU: 299 px, batch 64, then the largest batch that fits
    python bench/bench_gpu.py --smoke    # the same cases, tiny, on a CPU (checks the bench end to end)

Each case runs train_image_classifier.py's own training step (trainer.single_clone_step under
training's flags: model_deploy clone, classification losses, the optimizer and learning rate,
RMSProp by default, --mixed_precision and --xla) on Inception V3 in float32, mixed precision,
and mixed precision + XLA, fed either

- synthetic: a batch held in a variable on the clone's device (no input work at all), or
- real: TFRecords through the full input pipeline (read, decode, inception train
  preprocessing, batching, prefetch to the GPU).

The two graphs differ only in where the batch comes from. Warm-up steps (graph
optimisation, XLA compilation, tf.data autotuning, buffers filling) are not
timed. real/synthetic >= 0.95 means the input pipeline does not hold training
back. The TFRecords are made here: an embedded Kaggle-layout sample
(datasets/kaggle_sample.py) converted as download_and_convert_data.py does.
"""
import os
import sys
import tempfile
import time
import types

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets import dataset_factory, download_and_convert_diabetic, input_pipeline, kaggle_sample  # noqa: E402
from preprocessing import preprocessing_factory  # noqa: E402
from slim_compat import tf  # noqa: E402
from training import precision, trainer  # noqa: E402
import results_file  # noqa: E402
import train_image_classifier  # noqa: E402, F401  (defines training's flags: the step is built from them)

CASES = {"float32": (False, False), "mixed": (True, False), "mixed_xla": (True, True)}
MODEL = "inception_v3"
NUM_CLASSES = 5
SMOKE = {"image_size": 128, "batch_size": 2, "warmup_steps": 1, "steps": 2, "num_patients": 2,
         "sample_width": 300, "max_batch": 0}

flags.DEFINE_bool("smoke", False, "Tiny sizes and step counts (CPU check); overrides the sizes below.")
flags.DEFINE_list("cases", list(CASES), f"Cases to run, from {', '.join(CASES)}.")
flags.DEFINE_integer("image_size", 299, "Training image size.")
flags.DEFINE_integer("warmup_steps", 5, "Untimed steps before timing.")
flags.DEFINE_integer("steps", 30, "Timed steps per case.")
flags.DEFINE_integer("num_patients", 32, "Patients of the generated sample (two images each).")
flags.DEFINE_integer("sample_width", 600, "Width of the generated photographs (converted to --image_size).")
flags.DEFINE_integer("max_batch", 1024, "Double the batch (mixed precision, synthetic inputs) up to this while "
                     "it fits; 0: skip. Only with a GPU.")
results_file.define_flag()
FLAGS = flags.FLAGS
# Training's own flags, with the bench's defaults: --dataset_dir, existing diabetic TFRecords to read instead of a
# generated sample; --mixed_precision_dtype of the mixed cases, None: float16 with a GPU, else bfloat16.
FLAGS.set_default("batch_size", 64)
FLAGS.set_default("mixed_precision_dtype", None)


def make_sample_tfrecords(scratch, num_patients, width, image_size):
    """Writes a Kaggle-layout sample under `scratch` and converts it; returns the TFRecords folder."""
    kaggle_sample.write_kaggle_sample(scratch, num_patients, image_width_range=(width, width + 100))
    if download_and_convert_diabetic.run(scratch, validation_size=0, image_size=image_size) != 0:
        raise RuntimeError(f"converting the sample in {scratch} failed")
    return os.path.join(scratch, download_and_convert_diabetic.TFRECORDS_DIR)


def synthetic_batch(batch_size, image_size, device):
    """Images and labels held in local variables on `device`: reading them costs nothing."""
    with tf.device(device):
        images = tf.Variable(tf.random.uniform([batch_size, image_size, image_size, 3], -1.0, 1.0),
                             trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="synthetic_images")
        labels = tf.Variable(tf.random.uniform([batch_size], 0, NUM_CLASSES, tf.int64), trainable=False,
                             collections=[tf.GraphKeys.LOCAL_VARIABLES], name="synthetic_labels")
    return images.read_value(), labels.read_value()


def real_batch(dataset_dir, batch_size, image_size, device):
    """A batch of the train split through the full input pipeline, prefetched to `device` when it is a GPU."""
    dataset = dataset_factory.get_dataset("diabetic", "train", dataset_dir)
    with tf.device("/device:CPU:0"):
        batch = input_pipeline.build_batches(
            dataset, preprocessing_factory.get_preprocessing(MODEL, is_training=True), image_size, batch_size,
            is_training=True, prefetch_device=device if "GPU" in device else None)
    return batch["images"], batch["labels"]


def train_step(images, labels, dtype, xla):
    """train_image_classifier.py's step under its flags, in `dtype` (None: float32), XLA-compiled with `xla`.

    Returns the op that runs one step and yields the loss.
    """
    settings = types.SimpleNamespace(**FLAGS.flag_values_dict())
    settings.model_name, settings.mixed_precision, settings.mixed_precision_dtype, settings.xla = (
        MODEL, dtype is not None, dtype, xla)
    return trainer.single_clone_step(settings, images, labels, NUM_CLASSES, num_samples=settings.batch_size)


def gpu_memory_peak(reset=False):
    """Peak GPU memory in bytes since the last reset, or None without a GPU (or without the statistics)."""
    if not precision.gpu_available():
        return None
    try:
        if reset:
            tf.config.experimental.reset_memory_stats("GPU:0")
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    except (ValueError, RuntimeError) as error:
        logging.warning("no GPU memory statistics: %s", error)
        return None


def measure(source, dtype, xla, batch_size, image_size, dataset_dir, warmup_steps, steps):
    """Trains `warmup_steps` untimed and `steps` timed steps; returns (images/s, peak GPU bytes, last loss)."""
    device = "/device:GPU:0" if precision.gpu_available() else "/device:CPU:0"
    with tf.Graph().as_default():
        if source == "synthetic":
            images, labels = synthetic_batch(batch_size, image_size, device)
        else:
            images, labels = real_batch(dataset_dir, batch_size, image_size, device)
        step = train_step(images, labels, dtype, xla)
        gpu_memory_peak(reset=True)
        with tf.Session(config=precision.session_config(dtype)) as session:
            session.run([tf.global_variables_initializer(), tf.local_variables_initializer(),
                         tf.tables_initializer()])
            for _ in range(warmup_steps):
                session.run(step)
            start = time.perf_counter()
            for _ in range(steps):
                loss = session.run(step)
            seconds = time.perf_counter() - start
    if loss != loss or abs(loss) == float("inf"):
        raise FloatingPointError(f"loss is {loss}")
    return batch_size * steps / seconds, gpu_memory_peak(), loss


def largest_batch(dtype, xla, start, limit, image_size):
    """Doubles the batch from `start` while a synthetic step fits in GPU memory; returns (batch, images/s) or None."""
    fits = None
    batch_size = start
    while batch_size <= limit:
        try:
            rate, _, _ = measure("synthetic", dtype, xla, batch_size, image_size, None, 2, 5)
        except tf.errors.ResourceExhaustedError:
            break
        fits = (batch_size, rate)
        print(f"  batch {batch_size}: fits, {rate:.2f} images/s", flush=True)
        batch_size *= 2
    return fits


def device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return f"CPU only ({os.cpu_count()} cores)"


def gib(size):
    return "-" if size is None else f"{size / 2 ** 30:.2f} GiB"


def main(_):
    settings = {name: getattr(FLAGS, name) for name in SMOKE}
    if FLAGS.smoke:
        settings.update(SMOKE)
    unknown = set(FLAGS.cases) - set(CASES)
    if unknown:
        sys.exit(f"bench_gpu.py: unknown --cases {', '.join(sorted(unknown))}; use {', '.join(CASES)}")
    dtype16 = FLAGS.mixed_precision_dtype or ("float16" if precision.gpu_available() else "bfloat16")
    size, batch = settings["image_size"], settings["batch_size"]
    print(f"{MODEL} training at {size}x{size}, batch {batch}, on {device_name()}; "
          f"{settings['warmup_steps']} warm-up + {settings['steps']} timed steps per case", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        dataset_dir = FLAGS.dataset_dir or make_sample_tfrecords(
            scratch, settings["num_patients"], settings["sample_width"], size)
        for case in FLAGS.cases:
            mixed, xla = CASES[case]
            dtype = dtype16 if mixed else None
            label = (f"mixed {dtype16}" if mixed else "float32") + (" + XLA" if xla else "")
            figures = {}
            for source in ("synthetic", "real"):
                figures[source] = measure(source, dtype, xla, batch, size, dataset_dir,
                                          settings["warmup_steps"], settings["steps"])
                print(f"{label}, {source}: {figures[source][0]:.2f} images/s (loss {figures[source][2]:.3f})",
                      flush=True)
            results.append((case, label, figures))
    print()
    print("| precision | synthetic images/s | real TFRecords images/s | real/synthetic | peak GPU memory |")
    print("|---|---|---|---|---|")
    for _, label, figures in results:
        (synthetic, synthetic_memory, _), (real, real_memory, _) = figures["synthetic"], figures["real"]
        peaks = [peak for peak in (synthetic_memory, real_memory) if peak is not None]
        print(f"| {label} | {synthetic:.2f} | {real:.2f} | {real / synthetic:.2f} | "
              f"{gib(max(peaks) if peaks else None)} |")
    if settings["max_batch"] and precision.gpu_available():
        # Without XLA: each batch size would otherwise be compiled again, which takes minutes.
        print(f"largest batch that fits (mixed {dtype16}, synthetic inputs):", flush=True)
        fits = largest_batch(dtype16, False, batch, settings["max_batch"], size)
        print(f"largest batch: {fits[0]} ({fits[1]:.2f} images/s)" if fits else "largest batch: none fits")


if __name__ == "__main__":
    app.run(results_file.recorded(main, "bench_gpu"))
