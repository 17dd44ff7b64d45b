"""Imageability of an evaluated split: the share of its photos that can be graded, and what became of the rest.

The conversion measures every photo (fundus.quality) and lists the verdicts in
quality.csv beside the TFRecords folder. It keeps the ungradable photos out of the
training and validation TFRecords (unless --keep_ungradable; other splits keep all) but
still prepares them into processed_images/SPLIT/GRADE/, which tells their split. So a
split's photos are those evaluated plus its ungradable ones kept out at conversion.
A public dataset's own graders may also have called photos ungradable: those have no
grade and sit in the split `SPLIT_ungradable` (datasets.public_dr), counted apart.
"""
import dataclasses
import glob
import os

from datasets import dataset_factory, public_dr
from datasets.download_and_convert_diabetic import PROCESSED_DIR, TFRECORDS_DIR
from grading import intervals, patients
from inference import image_folder


@dataclasses.dataclass(frozen=True)
class ConversionPhotos:
    """What the conversion knows of a split.

    Attributes:
      qualities: {photo id: fundus.quality.Quality} of every photo it measured ({} without quality.csv).
      split: the ids it put into the split, or None when unknown.
      graders_ungradable: the ids of the split's photos the dataset's graders called ungradable, or None
        when the dataset has no such verdicts.
    """
    qualities: dict
    split: frozenset = None
    graders_ungradable: frozenset = None


def _splits_of(dataset_name, split_name):
    """(The splits a conversion may have written `split_name` as: itself and its parts, e.g. diabetic's `test`
    from `test_public` and `test_private`; the split of its graders' ungradable photos, or None.)"""
    module = dataset_factory.datasets_map.get(dataset_name)
    ungradable = split_name + public_dr.UNGRADABLE_SUFFIX
    known = getattr(module, "splits", getattr(module, "SPLITS", ()))
    return (split_name, *getattr(module, "PARTS", {}).get(split_name, ())), ungradable if ungradable in known else None


def conversion_photos(tfrecords_dir, dataset_name, split_name):
    """Returns the ConversionPhotos of `split_name` of `dataset_name`, converted into `tfrecords_dir`."""
    tfrecords_dir = os.path.abspath(tfrecords_dir)
    qualities = image_folder.conversion_qualities(tfrecords_dir)
    folder = os.path.basename(tfrecords_dir)
    if not folder.startswith(TFRECORDS_DIR):
        return ConversionPhotos(qualities)
    processed = os.path.join(os.path.dirname(tfrecords_dir), PROCESSED_DIR + folder[len(TFRECORDS_DIR):])

    def photos(split_names):
        return frozenset(os.path.splitext(os.path.basename(path))[0] for name in split_names
                         for path in glob.glob(os.path.join(glob.escape(processed), name, "*", "*")))

    split_names, ungradable_split = _splits_of(dataset_name, split_name)
    return ConversionPhotos(qualities, photos(split_names) or None,
                            photos([ungradable_split]) if ungradable_split else None)


def summarise(conversion, evaluated):
    """Returns the imageability of a split for report.json.

    Args:
      conversion: a ConversionPhotos.
      evaluated: the ids of the photos evaluated.

    Returns:
      {"measured": photos with a gradability verdict (evaluated ones and the split's ungradable ones
       kept out at conversion), "gradable": Estimate of their share, "patients": patients with such
       photos, "patients_gradable": Estimate of the share with every photo gradable,
       "ungradable_evaluated": ids graded by the model and counted in the figures,
       "ungradable_kept_out": ids not evaluated (None when the split's photos are unknown),
       "unmeasured": evaluated photos without a verdict, "graders_ungradable": ids the dataset's graders
       could not grade (not evaluated; None when it has no such verdicts), "graders_gradable": Estimate of
       the evaluated photos' share among these and them (None likewise)}.
    """
    evaluated = set(evaluated)
    qualities = conversion.qualities
    graders = None if conversion.graders_ungradable is None else sorted(conversion.graders_ungradable)
    kept_out = None if conversion.split is None else sorted(
        name for name in conversion.split - evaluated if name in qualities and not qualities[name].gradable)
    measured = sorted(name for name in evaluated if name in qualities) + (kept_out or [])
    gradable = [qualities[name].gradable for name in measured]
    patient_of, ids = patients.patient_index(measured)
    all_gradable = patients.worst([not flag for flag in gradable], patient_of, len(ids)) == 0
    return {"measured": len(measured), "gradable": intervals.exact_proportion(sum(gradable), len(measured)),
            "patients": len(ids), "patients_gradable": intervals.exact_proportion(all_gradable.sum(), len(ids)),
            "ungradable_evaluated": sorted(name for name, flag in zip(measured, gradable)
                                           if not flag and name in evaluated),
            "ungradable_kept_out": kept_out, "unmeasured": len(evaluated) - len(evaluated & set(qualities)),
            "graders_ungradable": graders, "graders_gradable": None if graders is None else
            intervals.exact_proportion(len(evaluated), len(evaluated) + len(graders))}
