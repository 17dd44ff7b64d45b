r"""Images/s of the project's fundus preprocessing against the book's naive pipeline, same run.

Naive (the book's method on Pillow): full JPEG decode, numpy max-over-channels
crop, bicubic resize, JPEG save. Project: fundus_preparation.preprocess_fundus (reduced
DCT decode; the disc found as a circle, cropped to its square and measured for
gradability, the default --crop_mode=disc; or the book's crop, --crop_mode=book;
same resize and save). All run in one process on the same Kaggle-sized
photographs written by datasets.kaggle_sample; PSNR compares the book mode's
decoded outputs with the naive ones.

    python bench/bench_preprocess.py --num_images=24
"""
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets import kaggle_sample  # noqa: E402
from fundus import preparation as fundus_preparation  # noqa: E402
import results_file  # noqa: E402

flags.DEFINE_integer("num_images", 24, "Photographs to preprocess (an even number: two eyes per patient).")
flags.DEFINE_integer("min_width", 2592, "Smallest photograph width (Kaggle's run from about 2,000 to 5,000).")
flags.DEFINE_integer("max_width", 4752, "Largest photograph width.")
flags.DEFINE_integer("image_size", fundus_preparation.DEFAULT_IMAGE_SIZE, "Side of the images written.")
flags.DEFINE_string("work_dir", None, "Where to write the photographs and outputs; default a temporary folder.")
results_file.define_flag()
FLAGS = flags.FLAGS


def naive_crop(pixels, threshold=fundus_preparation.DEFAULT_CROP_THRESHOLD):
    """The book's crop as it wrote it: max over channels, then the bright rows and columns."""
    brightest = np.max(pixels, 2)
    rows = np.where(np.max(brightest, 1) > threshold)[0]
    columns = np.where(np.max(brightest, 0) > threshold)[0]
    return pixels[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def naive_preprocess(source, destination, image_size):
    """The book's pipeline on Pillow: full decode, crop, bicubic resize, JPEG quality 95."""
    pixels = np.asarray(Image.open(source).convert("RGB"))
    resized = fundus_preparation.resize_bicubic(naive_crop(pixels), image_size)
    Image.fromarray(resized).save(destination, format="JPEG", quality=fundus_preparation.JPEG_QUALITY,
                                  subsampling=fundus_preparation.JPEG_SUBSAMPLING)


def project_preprocess(source, destination, image_size):
    fundus_preparation.preprocess_fundus(source, destination, image_size)


def project_book_preprocess(source, destination, image_size):
    fundus_preparation.preprocess_fundus(source, destination, image_size, crop_mode="book")


def images_per_second(preprocess, sources, output_dir, image_size):
    os.makedirs(output_dir, exist_ok=True)
    start = time.perf_counter()
    for source in sources:
        preprocess(source, os.path.join(output_dir, os.path.basename(source)), image_size)
    return len(sources) / (time.perf_counter() - start)


def psnr(first_path, second_path):
    first = np.asarray(Image.open(first_path), dtype=np.float64)
    second = np.asarray(Image.open(second_path), dtype=np.float64)
    mse = np.mean((first - second) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def run(work_dir):
    print(f"writing {FLAGS.num_images} photographs {FLAGS.min_width}-{FLAGS.max_width} px wide ...", flush=True)
    written = kaggle_sample.write_kaggle_sample(work_dir, max(1, FLAGS.num_images // 2),
                                                (FLAGS.min_width, FLAGS.max_width), seed=0)
    sources = [os.path.join(work_dir, "train", name + ".jpeg") for name, _ in written["train"]]
    megapixels = np.mean([np.prod(Image.open(source).size) for source in sources]) / 1e6
    naive_dir, book_dir = os.path.join(work_dir, "naive"), os.path.join(work_dir, "book")
    naive_rate = images_per_second(naive_preprocess, sources, naive_dir, FLAGS.image_size)
    disc_rate = images_per_second(project_preprocess, sources, os.path.join(work_dir, "disc"), FLAGS.image_size)
    book_rate = images_per_second(project_book_preprocess, sources, book_dir, FLAGS.image_size)
    psnrs = [psnr(os.path.join(naive_dir, os.path.basename(source)),
                  os.path.join(book_dir, os.path.basename(source))) for source in sources]
    print(f"{len(sources)} photographs, mean {megapixels:.1f} megapixels, "
          f"output {FLAGS.image_size}x{FLAGS.image_size}, "
          "one process each")
    print(f"naive (full decode):                            {naive_rate:7.2f} images/s, "
          f"{1000 / naive_rate:6.1f} ms per photo")
    print(f"project, --crop_mode=disc (circle, gradability): {disc_rate:7.2f} images/s, "
          f"{1000 / disc_rate:6.1f} ms per photo, speed-up {disc_rate / naive_rate:.1f}x")
    print(f"project, --crop_mode=book (reduced decode):      {book_rate:7.2f} images/s, "
          f"{1000 / book_rate:6.1f} ms per photo, speed-up {book_rate / naive_rate:.1f}x")
    print(f"PSNR of book mode vs naive outputs: mean {np.mean(psnrs):.1f} dB, min {np.min(psnrs):.1f} dB")


def main(_):
    if FLAGS.work_dir:
        run(FLAGS.work_dir)
    else:
        with tempfile.TemporaryDirectory() as work_dir:
            run(work_dir)


if __name__ == "__main__":
    app.run(results_file.recorded(main, "bench_preprocess"))
