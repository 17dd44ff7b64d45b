"""Input pipeline vs Inception V3 training step, in images/s, on this machine and in the same run.

    python bench/bench_input_pipeline.py [--dataset_dir=DIR/tfrecords] [--batch_size=32]

Without --dataset_dir it writes temporary diabetic TFRecords of 299x299 JPEGs
made from scikit-image's fundus photo (a dev dependency). The pipeline must
deliver more images/s than the training step consumes, or the GPU waits. The step is
train_image_classifier.py's own (trainer.single_clone_step under training's flags, RMSProp by default).
"""
import io
import os
import sys
import tempfile
import time
import types

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets import dataset_factory, dataset_utils, input_pipeline  # noqa: E402
from preprocessing import preprocessing_factory  # noqa: E402
from slim_compat import tf  # noqa: E402
from training import precision, trainer  # noqa: E402
import results_file  # noqa: E402
import train_image_classifier  # noqa: E402, F401  (defines training's flags: the step is built from them)

flags.DEFINE_integer("pipeline_batches", 20, "batches timed for the pipeline alone")
flags.DEFINE_integer("train_steps", 3, "training steps timed (after one warm-up step)")
results_file.define_flag()
FLAGS = flags.FLAGS
# Training's own flags, with the bench's defaults: --dataset_dir, diabetic TFRecords (default: temporary ones
# from a sample photo); --num_preprocessing_threads, parallel preprocessing calls.
FLAGS.set_default("num_preprocessing_threads", os.cpu_count())
IMAGE_SIZE = 299


def write_sample_records(dataset_dir, count=256, shards=4):
    """Writes `count` 299x299 fundus JPEGs (the prepare stage's output size) as diabetic train TFRecords."""
    from PIL import Image
    from skimage import data

    photo = Image.fromarray(data.retina()).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC)
    encoded = io.BytesIO()
    photo.save(encoded, format="JPEG", quality=90)
    for shard in range(shards):
        path = os.path.join(dataset_dir, f"diabetic_train_{shard:05d}-of-{shards:05d}.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for index in range(shard, count, shards):
                writer.write(dataset_utils.image_to_tfexample(
                    encoded.getvalue(), b"jpg", IMAGE_SIZE, IMAGE_SIZE, index % 5, f"{index}_left").SerializeToString())
    dataset_utils.write_split_sizes({"train": count}, dataset_dir)


def batches(dataset_dir, batch_size):
    dataset = dataset_factory.get_dataset("diabetic", "train", dataset_dir)
    return input_pipeline.build_batches(dataset, preprocessing_factory.get_preprocessing("inception_v3", True),
                                        IMAGE_SIZE, batch_size, is_training=True,
                                        num_preprocessing_threads=FLAGS.num_preprocessing_threads)


def images_per_second(session, fetch, batch_size, steps):
    session.run(fetch)  # warm-up: graph optimisation, buffers filling
    start = time.time()
    for _ in range(steps):
        session.run(fetch)
    return batch_size * steps / (time.time() - start)


def main(_):
    with tempfile.TemporaryDirectory() as scratch:
        dataset_dir = FLAGS.dataset_dir or scratch
        if not FLAGS.dataset_dir:
            write_sample_records(scratch)
        with tf.Graph().as_default():
            batch = batches(dataset_dir, FLAGS.batch_size)
            with tf.Session() as session:
                pipeline = images_per_second(session, batch["images"], FLAGS.batch_size, FLAGS.pipeline_batches)
        with tf.Graph().as_default():
            batch = batches(dataset_dir, FLAGS.batch_size)
            settings = types.SimpleNamespace(**{**FLAGS.flag_values_dict(), "model_name": "inception_v3"})
            step = trainer.single_clone_step(settings, batch["images"], batch["labels"], 5,
                                             num_samples=FLAGS.batch_size)
            with tf.Session(config=precision.session_config()) as session:
                session.run(tf.global_variables_initializer())
                training = images_per_second(session, step, FLAGS.batch_size, FLAGS.train_steps)
    cores = os.cpu_count()
    print(f"input pipeline (inception train preprocessing, {IMAGE_SIZE}x{IMAGE_SIZE}): {pipeline:.1f} images/s "
          f"= {pipeline / cores:.1f} images/s per CPU core ({cores} cores)")
    print(f"inception_v3 training step on this machine, batch {FLAGS.batch_size}: {training:.1f} images/s")
    print(f"ratio pipeline / training step: {pipeline / training:.1f}x")


if __name__ == "__main__":
    app.run(results_file.recorded(main, "bench_input_pipeline"))
