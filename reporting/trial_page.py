"""The HTML page of a trial report (trial_report.build's dict): tables with intervals, ROC, confusion matrices,
reliability diagram and heatmaps, all inline."""
import math

import numpy as np

from reporting import confusion_image, html_page, referable_curves
from utils import names

LEVEL_NAMES = {"eye": "per eye", "patient": "per patient (worse eye)"}
RATES = ("sensitivity", "specificity", "ppv", "npv")
POINT_HEADER = ("operating point", "chosen on", "threshold on P(grade >= 2)", "sensitivity", "specificity", "PPV",
                "NPV")


def _threshold(value):
    return "refers no one" if value is None else f"{value:.4f}"


def _listed(ids):
    return f"{len(ids)} ({names.first_few(ids)})" if ids else "0"


def _finite(*values):
    return all(value is not None and math.isfinite(value) for value in values)


def introduction(report):
    """Paragraphs: what was evaluated, the referable definition, and where the operating points come from."""
    parts = [html_page.text(f"{report['photos']} photos of {report['title']}, model {report['checkpoint']} "
                            f"(step {report['global_step']}). Referable: {report['referable']} (moderate DR or worse). "
                            f"The model's grades: {report['model_grading']}.")]
    development = report["development_split"]
    if not development or not development["operating_points"]:
        parts.append(html_page.text("No operating points were fixed on a development split (run eval with "
                                    "--fit_grading on the validation split first): only the model's own grades and "
                                    "the points read off this split's ROC are shown.", "note"))
    elif development["is_this_split"]:
        parts.append(html_page.text("The operating points and grade thresholds were fitted on this split: these are "
                                    "development figures, not a validation.", "note"))
    else:
        parts.append(html_page.text(f"Operating points fixed beforehand on the development split "
                                    f"({development['fitted_on']})."))
    return parts


def summary_table(report):
    rows = [(LEVEL_NAMES[level], report[level]["units"], report[level]["referable"], report[level]["auc"].text(),
             report[level]["qwk"].text()) for level in LEVEL_NAMES]
    return html_page.table(("level", "units", "referable", "AUC of P(grade >= 2) (95 % CI)",
                            "QWK (95 % CI)"), rows)


def operating_point_table(points):
    """One row per operating point of a level (trial_figures.level_operating_points)."""
    def row(label, chosen_on, point):
        return (label, chosen_on, "-" if chosen_on == "the model's grading" else _threshold(point["threshold"]),
                *(point[rate].text() for rate in RATES))

    rows = [row("predicted grade >= 2", "the model's grading", points["model_grade"])]
    rows += [row(referable_curves.SCREENING_LABELS[name], "development split", point)
             for name, point in points["development"].items()]
    rows += [row(referable_curves.SCREENING_LABELS[name], "this split (descriptive)", point)
             for name, point in points["this_split"].items()]
    return html_page.table(POINT_HEADER, rows)


def imageability_part(summary):
    """The imageability table: the conversion's verdicts (quality.csv) and the dataset's graders', where known."""
    rows = []
    if summary["measured"]:
        kept_out = summary["ungradable_kept_out"]
        rows += [("photos with the conversion's verdict", summary["measured"]),
                 ("gradable (95 % CI)", summary["gradable"].text()),
                 ("patients with every photo gradable (95 % CI)", summary["patients_gradable"].text()),
                 ("ungradable, evaluated: graded by the model and counted above",
                  _listed(summary["ungradable_evaluated"])),
                 ("ungradable, kept out of the TFRecords at conversion: not evaluated",
                  "unknown" if kept_out is None else _listed(kept_out)),
                 ("evaluated photos without a verdict", summary["unmeasured"])]
    if summary["graders_ungradable"] is not None:
        rows += [("gradable to the dataset's graders (95 % CI)", summary["graders_gradable"].text()),
                 ("ungradable to the dataset's graders: no grade, not evaluated",
                  _listed(summary["graders_ungradable"]))]
    if not rows:
        return [html_page.text("No gradability verdicts for these photos (the conversion wrote no quality.csv beside "
                               "the TFRecords).", "note")]
    return [html_page.table(("imageability", ""), rows)]


def roc_figure(report, level):
    """The ROC picture of a level with the model's point and the development points, or None when undefined."""
    curve, points = report[level]["roc"], report[level]["operating_points"]
    if not _finite(*curve["fpr"], *curve["tpr"]):
        return None
    own = points["model_grade"]
    marked = [(f"{referable_curves.SCREENING_LABELS[name]} (dev)", point["sensitivity"].value,
               point["specificity"].value) for name, point in points["development"].items()
              if _finite(point["sensitivity"].value, point["specificity"].value)]
    picture = referable_curves.render_roc(
        curve["fpr"], curve["tpr"], (1 - own["specificity"].value, own["sensitivity"].value)
        if _finite(own["sensitivity"].value, own["specificity"].value) else None, report[level]["auc"].value,
        marked, title=f"referable, {LEVEL_NAMES[level]}: AUC {report[level]['auc'].text()}")
    return html_page.figure(picture, f"ROC of P(grade >= 2), {LEVEL_NAMES[level]}: the red dot is the model's "
                                     "grades, the diamonds the development split's operating points.")


def figures(report, class_names, pictures):
    parts = [roc_figure(report, level) for level in LEVEL_NAMES]
    for level in LEVEL_NAMES:
        matrix = np.array(report[level]["confusion_matrix"])
        parts.append(html_page.figure(confusion_image.render_confusion_matrix(matrix, class_names),
                                      f"confusion matrix, {LEVEL_NAMES[level]} (rows: true grade)"))
    calibration = report["calibration"]
    parts.append(html_page.figure(referable_curves.render_reliability(calibration["bins"],
                                                                      calibration["referable_ece"]),
                                  "reliability of P(grade >= 2) per photo: bars are the observed share of referable "
                                  "photos per bin, dots the bin's mean probability, numbers its photos."))
    parts += [html_page.figure(picture, f"Grad-CAM: {caption}") for caption, picture in zip(report["heatmaps"],
                                                                                            pictures)]
    return [part for part in parts if part]


def render(report, class_names, pictures=()):
    """Returns the HTML page of `report` (trial_report.build) with the heatmap `pictures` (PIL images)."""
    calibration = report["calibration"]
    parts = introduction(report)
    parts += [html_page.heading("Referable DR"), summary_table(report)]
    for level, name in LEVEL_NAMES.items():
        parts += [html_page.heading(f"Operating points, {name}", 3), operating_point_table(report[level]
                                                                                           ["operating_points"])]
    parts += [html_page.heading("Imageability"), *imageability_part(report["imageability"])]
    parts += [html_page.heading("Calibration"),
              html_page.text(f"Expected calibration error of P(grade >= 2): {calibration['referable_ece']:.3f}; of "
                             f"the predicted grade's probability: {calibration['grade_ece']:.3f}.")]
    parts += [html_page.heading("Figures"), *figures(report, class_names, pictures)]
    parts.append(html_page.text(f"Intervals: rates, {report['intervals']['proportions']}; AUC and QWK, "
                                f"{report['intervals']['auc_qwk']}. PPV and NPV depend on this split's prevalence. "
                                "Points read off this split's ROC are the best any threshold does here, not a "
                                "prospective figure."))
    return html_page.page(f"Screening report: {report['title']}", parts)
