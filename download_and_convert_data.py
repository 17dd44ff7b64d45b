r"""Downloads and converts a dataset to TFRecords in TF-Slim's format.

Usage, with Kaggle's files (trainLabels.csv, train/, optionally test/) in DIR:

    python download_and_convert_data.py --dataset_name=diabetic --dataset_dir=DIR

Nothing is downloaded for diabetic: Kaggle's data must be fetched by hand (its terms
require an account). The TFRecords go to DIR/tfrecords, the folder that training and
evaluation take as --dataset_dir. With Kaggle's retinopathy_solution.csv beside test/, the
test photos are labelled (splits test_public and test_private).

The public DR datasets aptos2019, messidor2, idrid and ddr are converted the same way from
the folder their distribution unpacks into (datasets/convert_*.py say which files each needs):

    python download_and_convert_data.py --dataset_name=messidor2 --dataset_dir=DIR

Upstream's datasets flowers, cifar10, mnist and visualwakewords are downloaded into
--dataset_dir and converted there, as upstream does. Without a network, put the
archive(s) into --dataset_dir first (flower_photos.tgz, cifar-10-python.tar.gz, MNIST's
four *-ubyte.gz files, or COCO 2014's train2014.zip, val2014.zip and
annotations_trainval2014.zip in DIR/coco_dataset): what is there is converted and
nothing is downloaded.
"""
from absl import app, flags, logging

import slim_compat  # noqa: F401  (first: repairs tf-slim for this TensorFlow, turns graph mode on)

from datasets import (convert_aptos2019, convert_ddr, convert_idrid, convert_labelled_images, convert_messidor2,
                      download_and_convert_cifar10, download_and_convert_diabetic, download_and_convert_flowers,
                      download_and_convert_mnist, download_and_convert_visualwakewords, tfrecord_check)
from datasets import download_and_convert_visualwakewords_lib as visualwakewords_lib
from fundus import preparation as fundus_preparation

flags.DEFINE_string("dataset_name", None, "The dataset to convert: diabetic, the public DR datasets aptos2019, "
                    "messidor2, idrid and ddr, labelled_images, or upstream's flowers, cifar10, mnist, "
                    "visualwakewords.")
flags.DEFINE_string("dataset_dir", None, "The folder holding the dataset's files; outputs are written under it. "
                    "flowers/cifar10/mnist/visualwakewords: their archives are downloaded here, or, without a "
                    "network, taken from here when put here beforehand.")
flags.DEFINE_float("small_object_area_threshold", 0.005, "visualwakewords: objects covering at most this "
                   "fraction of their image do not count.")
flags.DEFINE_string("foreground_class_of_interest", "person", "visualwakewords: the COCO category whose "
                    "presence in an image gives label 1.")
flags.DEFINE_string("coco_dirname", download_and_convert_visualwakewords.COCO_DIRNAME,
                    "visualwakewords: COCO's subfolder of --dataset_dir.")
flags.DEFINE_string("coco_train_url", visualwakewords_lib.COCO_TRAIN_URL, "visualwakewords: COCO's train zip.")
flags.DEFINE_string("coco_validation_url", visualwakewords_lib.COCO_VALIDATION_URL,
                    "visualwakewords: COCO's validation zip.")
flags.DEFINE_string("coco_annotations_url", visualwakewords_lib.COCO_ANNOTATIONS_URL,
                    "visualwakewords: COCO's annotations zip.")
flags.DEFINE_integer("validation_size", download_and_convert_diabetic.DEFAULT_VALIDATION_SIZE,
                     "Images held out for validation, rounded up to whole patients (both eyes together).")
flags.DEFINE_integer("num_workers", None, "Preprocessing processes; default: every available core.")
flags.DEFINE_integer("image_size", fundus_preparation.DEFAULT_IMAGE_SIZE, "Side of the square images written.")
flags.DEFINE_integer("crop_threshold", fundus_preparation.DEFAULT_CROP_THRESHOLD,
                     "Border rows/columns whose brightest channel is at most this are cropped.")
flags.DEFINE_enum("crop_mode", fundus_preparation.DEFAULT_CROP_MODE, fundus_preparation.CROP_MODES,
                  "diabetic and the public DR datasets: disc: a square centred on the fitted disc, its side the "
                  "disc's diameter (round discs of one size from every camera; black where the frame cut the "
                  "disc); book: the book's bounding box of the bright pixels, stretched to a square.")
flags.DEFINE_boolean("keep_ungradable", False, "diabetic and the public DR datasets: also write the train and "
                     "validation photos judged ungradable (listed in DIR/quality.csv) into the TFRecords.")
flags.DEFINE_integer("num_shards", None, "TFRecord shards per split; default: one per 1,024 images, at least 4.")
flags.DEFINE_integer("seed", 0, "Seed of the patient split and of the shard shuffle.")
flags.DEFINE_float("validation_fraction", convert_labelled_images.DEFAULT_VALIDATION_FRACTION,
                   "labelled_images: share of the source files held out for validation.")
flags.DEFINE_boolean("overwrite", False, "Process every image and write every shard again, even those "
                     "made from the same source with the same settings.")
flags.DEFINE_boolean("verify", False, "Convert nothing: read every record of the TFRecords in --dataset_dir "
                     "(or its tfrecords folder) and report each bad shard; exit 1 if one is bad.")
flags.DEFINE_boolean("graham", False, "diabetic and the public DR datasets: also apply Graham's normalisation "
                     "(local average colour subtracted, outer 10 % of the disc masked), writing "
                     "DIR/processed_images_graham and DIR/tfrecords_graham.")
flags.mark_flags_as_required(["dataset_name", "dataset_dir"])

FLAGS = flags.FLAGS


def fundus_options():
    """The flags every DR dataset's conversion takes (datasets.fundus_conversion.run's options)."""
    return dict(num_workers=FLAGS.num_workers, image_size=FLAGS.image_size, crop_threshold=FLAGS.crop_threshold,
                graham=FLAGS.graham, crop_mode=FLAGS.crop_mode, keep_ungradable=FLAGS.keep_ungradable,
                num_shards=FLAGS.num_shards, seed=FLAGS.seed, overwrite=FLAGS.overwrite)


def convert_diabetic():
    """Returns the exit status of the Kaggle diabetic-retinopathy conversion."""
    return download_and_convert_diabetic.run(FLAGS.dataset_dir, validation_size=FLAGS.validation_size,
                                             **fundus_options())


def public_converter(module):
    """Returns the converter of a public DR dataset's module (its `run`)."""
    return lambda: module.run(FLAGS.dataset_dir, **fundus_options())


CONVERTERS = {
    "diabetic": convert_diabetic,
    **{module.LAYOUT.name_prefix: public_converter(module)
       for module in (convert_aptos2019, convert_messidor2, convert_idrid, convert_ddr)},
    "labelled_images": lambda: convert_labelled_images.run(
        FLAGS.dataset_dir, FLAGS.validation_fraction, FLAGS.num_shards, FLAGS.seed),
    "flowers": lambda: download_and_convert_flowers.run(FLAGS.dataset_dir),
    "cifar10": lambda: download_and_convert_cifar10.run(FLAGS.dataset_dir),
    "mnist": lambda: download_and_convert_mnist.run(FLAGS.dataset_dir),
    "visualwakewords": lambda: download_and_convert_visualwakewords.run(
        FLAGS.dataset_dir, FLAGS.small_object_area_threshold, FLAGS.foreground_class_of_interest,
        FLAGS.coco_dirname, (FLAGS.coco_train_url, FLAGS.coco_validation_url, FLAGS.coco_annotations_url)),
}


def main(_):
    if FLAGS.verify:
        return tfrecord_check.verify_folder(FLAGS.dataset_dir)
    if FLAGS.dataset_name not in CONVERTERS:
        raise app.UsageError(f"dataset_name [{FLAGS.dataset_name}] was not recognized; "
                             f"use one of {', '.join(sorted(CONVERTERS))}")
    try:
        return CONVERTERS[FLAGS.dataset_name]()
    except ValueError as error:
        logging.error("%s", error)
        return 1


if __name__ == "__main__":
    app.run(main)
