"""A screening-trial report of one evaluation: REPORT_JSON for scripts, REPORT_HTML (a self-contained page) for people.

Referable DR per eye and per patient (worst eye) with 95 % intervals
(reporting.trial_figures), at the operating points fixed on the development split
(grading.operating_points, recorded by `eval --fit_grading`), the split's
imageability (reporting.imageability), calibration, and a few Grad-CAM heatmaps. Both
files are written atomically; NaN and infinite numbers are null in the JSON.
"""
import dataclasses
import json
import math
import os

import numpy as np

from grading import intervals, operating_points
from reporting import imageability, trial_figures, trial_page
from utils import atomic_files

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
INTERVALS = {"proportions": "exact (Clopper-Pearson) 95 % interval",
             "auc_qwk": f"95 % percentile interval over {intervals.BOOTSTRAP_RESAMPLES} resamples of the patients "
                        f"(seed {intervals.BOOTSTRAP_SEED})"}


@dataclasses.dataclass(frozen=True)
class ReportRequest:
    """Where to write the report of an evaluation and what it is of.

    Attributes:
      directory: folder for REPORT_JSON and REPORT_HTML.
      title: what was evaluated, in words (e.g. "diabetic, split validation").
      conversion: imageability.ConversionPhotos of the split, or None when unknown.
    """
    directory: str
    title: str
    conversion: imageability.ConversionPhotos = None


def json_ready(value):
    """Returns `value` with Estimates as dicts, numpy values as Python ones and NaN or infinity as None."""
    if isinstance(value, intervals.Estimate):
        value = value.as_dict()
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def model_grading(predictions, fitted):
    """Returns how the model's grades were given, in words."""
    if predictions.thresholds is None:
        return "the softmax's most probable grade"
    if fitted and fitted.thresholds:
        return "the grade score cut at the QWK thresholds fitted on the development split"
    return "the regression output rounded"


def development_split(fitted, source, fitted_here):
    """Returns what the development split fixed (None when nothing was fitted) and whether it is this split."""
    if not fitted:
        return None
    record = fitted.operating_points or {}
    return {"fitted_on": fitted.fitted_on, "is_this_split": bool(fitted_here or record.get("source") == source),
            "grade_thresholds": list(fitted.thresholds),
            "operating_points": {level: record[level] for level in operating_points.LEVELS if level in record}}


def build(predictions, fitted, source, title, checkpoint, global_step, conversion=None, fitted_here=False,
          heatmap_names=()):
    """Returns the report of one evaluation as a dict (intervals as intervals.Estimate).

    Args:
      predictions: a model_runner.Predictions of a labelled split; its `extras` may carry the dataset's
        `dme` and `patient` items.
      fitted: the model's fitted grading (a model_description.FittedGrading), or None.
      source: the evaluated TFRecords, to tell whether they are the development split.
      title, conversion: as ReportRequest.
      checkpoint, global_step: the evaluated checkpoint's name and step.
      fitted_here: the grading was fitted on this very evaluation (eval --fit_grading).
      heatmap_names: the captions of the heatmaps shown.
    """
    extras = predictions.extras or {}
    development = development_split(fitted, source, fitted_here)
    figures = trial_figures.compute(predictions.labels, predictions.grades, predictions.probabilities,
                                    predictions.filenames, development and development["operating_points"],
                                    extras.get("dme"), extras.get("patient"))
    return {"title": title, "checkpoint": os.path.basename(checkpoint), "global_step": global_step,
            "photos": len(predictions.filenames), "model_grading": model_grading(predictions, fitted),
            "development_split": development, "intervals": INTERVALS, **figures,
            "imageability": imageability.summarise(conversion or imageability.ConversionPhotos({}),
                                                   predictions.filenames),
            "heatmaps": list(heatmap_names)}


def write(request, predictions, fitted, source, checkpoint, global_step, class_names, fitted_here=False,
          pictures=()):
    """Writes REPORT_JSON and REPORT_HTML of one evaluation to `request.directory`; returns their paths.

    `pictures` are (caption, PIL picture) Grad-CAM heatmaps (heatmaps.HeatmapSample); other
    arguments as `build`.
    """
    report = build(predictions, fitted, source, request.title, checkpoint, global_step, request.conversion,
                   fitted_here, [caption for caption, _ in pictures])
    paths = os.path.join(request.directory, REPORT_JSON), os.path.join(request.directory, REPORT_HTML)
    with atomic_files.open_atomically(paths[0], encoding="utf-8") as handle:
        json.dump(json_ready(report), handle, indent=1, allow_nan=False)
    with atomic_files.open_atomically(paths[1], encoding="utf-8") as handle:
        handle.write(trial_page.render(report, class_names, [picture for _, picture in pictures]))
    return paths

