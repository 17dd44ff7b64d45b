"""The screening-trial report on constructed predictions: figures per eye and per patient with intervals that hold
their estimates, the development split's operating points, imageability, and a self-contained HTML page."""
import base64
import html.parser
import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from fundus import quality as fundus_quality
from grading import fitting, operating_points
from inference import image_folder, model_runner
from reporting import imageability, trial_report
from utils import model_description, run_settings
from tests.model_helpers import read_encoded_images, run_script

GRADES = ("0", "1", "2", "3", "4")


def constructed_split(rng, patients, singles=4):
    """Photo names (two eyes per patient, then `singles` photos without an eye in their name), grades and
    probabilities of a model that sees the grade through noise."""
    names = [f"{patient}_{eye}" for patient in range(patients) for eye in ("left", "right")]
    names += [f"photo{index}" for index in range(singles)]
    labels = rng.choice(5, size=len(names), p=[0.5, 0.15, 0.2, 0.08, 0.07])
    logits = rng.normal(0, 1, (len(names), 5))
    logits[np.arange(len(names)), labels] += 2.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return names, labels, probabilities


def good(gradable=True):
    return fundus_quality.Quality(gradable, True, 1.0, 100.0 if gradable else 20.0, 2.0, 0.5)


@pytest.fixture(scope="module")
def development():
    names, labels, probabilities = constructed_split(np.random.default_rng(10), 60)
    return model_description.FittedGrading((0.5, 1.5, 2.5, 3.5), "model.ckpt-9 on validation",
                                           operating_points=operating_points.fit(labels, probabilities, names,
                                                                                 "validation"))


@pytest.fixture(scope="module")
def written(development, tmp_path_factory):
    names, labels, probabilities = constructed_split(np.random.default_rng(11), 40)
    predictions = model_runner.Predictions(names, labels, probabilities, thresholds=development.thresholds)
    qualities = {name: good(index % 13 != 5) for index, name in enumerate(names)}
    qualities.update({"90_left": good(False), "90_right": good(False), "91_left": good(True)})
    # 90's eyes were ungradable and kept out of the TFRecords; 91_left was not evaluated (a partial pass); the
    # dataset's graders could not grade 92_left.
    conversion = imageability.ConversionPhotos(qualities, frozenset(names + ["90_left", "90_right", "91_left"]),
                                               frozenset(["92_left"]))
    directory = str(tmp_path_factory.mktemp("report"))
    pictures = [(f"{names[index]} (grade 2)", Image.new("RGB", (48, 48), (200, 90, 40))) for index in range(2)]
    paths = trial_report.write(trial_report.ReportRequest(directory, "diabetic, split test", conversion), predictions,
                               development, "test", "/somewhere/model.ckpt-9", 9, list(GRADES), pictures=pictures)
    with open(paths[0], encoding="utf-8") as handle:
        report = json.loads(handle.read(), parse_constant=lambda name: pytest.fail(f"{name} in report.json"))
    with open(paths[1], encoding="utf-8") as handle:
        page = handle.read()
    return {"report": report, "page": page, "predictions": predictions, "qualities": qualities,
            "directory": directory}


def estimates(value, where=""):
    """Yields (where, estimate dict) of every interval in report.json."""
    if isinstance(value, dict):
        if {"estimate", "low", "high"} <= set(value):
            yield where, value
        for key, item in value.items():
            yield from estimates(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from estimates(item, f"{where}/{index}")


def test_every_interval_contains_its_point_estimate(written):
    found = list(estimates(written["report"]))
    # Per level: AUC, QWK and four rates at nine points (the model's, four development ones, four of this
    # split); then the three imageability shares.
    assert len(found) == 2 * (2 + 4 * 9) + 3
    for where, estimate in found:
        if estimate["estimate"] is not None:
            assert estimate["low"] <= estimate["estimate"] <= estimate["high"], where


def test_figures_per_eye_and_per_patient_follow_the_worst_eye(written):
    report, predictions = written["report"], written["predictions"]
    labels, grades = predictions.labels, predictions.grades
    assert report["eye"]["units"] == 84 and report["patient"]["units"] == 44
    assert report["eye"]["referable"] == int((labels >= 2).sum())
    worst_label = np.r_[labels[:80].reshape(40, 2).max(axis=1), labels[80:]]
    worst_grade = np.r_[grades[:80].reshape(40, 2).max(axis=1), grades[80:]]
    assert report["patient"]["referable"] == int((worst_label >= 2).sum())
    expected = np.zeros((5, 5), int)
    np.add.at(expected, (worst_label, worst_grade), 1)
    assert report["patient"]["confusion_matrix"] == expected.tolist()
    own = report["patient"]["operating_points"]["model_grade"]["sensitivity"]
    assert (own["successes"], own["total"]) == (int(((worst_grade >= 2) & (worst_label >= 2)).sum()),
                                                int((worst_label >= 2).sum()))
    for level in ("eye", "patient"):
        for name in ("auc", "qwk"):
            assert 0 < report[level][name]["estimate"] <= 1
        assert report[level]["roc"]["thresholds"][0] is None  # +inf: the point that refers no one


def test_operating_points_are_those_fixed_on_the_development_split(written, development):
    report, predictions = written["report"], written["predictions"]
    fixed = development.operating_points
    assert report["development_split"]["operating_points"] == {level: fixed[level] for level in ("eye", "patient")}
    assert not report["development_split"]["is_this_split"]
    scores = predictions.probabilities[:, 2:].sum(axis=1)
    referable = predictions.labels >= 2
    for name, threshold in fixed["eye"].items():
        point = report["eye"]["operating_points"]["development"][name]
        assert point["threshold"] == threshold
        referred = scores >= threshold
        assert point["specificity"]["successes"] == int((~referred & ~referable).sum())
        assert point["ppv"]["total"] == int(referred.sum())
    # The points read off this split are its own, reported apart.
    assert set(report["eye"]["operating_points"]["this_split"]) == set(fixed["eye"])


def test_imageability_counts_the_evaluated_and_the_kept_out(written):
    summary, qualities = written["report"]["imageability"], written["qualities"]
    evaluated = written["predictions"].filenames
    ungradable = sorted(name for name in evaluated if not qualities[name].gradable)
    assert summary["measured"] == len(evaluated) + 2
    assert summary["gradable"]["successes"] == len(evaluated) - len(ungradable)
    assert summary["ungradable_evaluated"] == ungradable
    assert summary["ungradable_kept_out"] == ["90_left", "90_right"]
    assert summary["patients"] == 45 and summary["unmeasured"] == 0
    assert summary["graders_ungradable"] == ["92_left"]
    assert (summary["graders_gradable"]["successes"], summary["graders_gradable"]["total"]) == (84, 85)


class PageParser(html.parser.HTMLParser):
    """Collects the images, captions and any reference to another file."""

    def __init__(self):
        super().__init__()
        self.images, self.captions, self.outside, self._caption = [], [], [], False

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        for name in ("src", "href"):
            if name in attributes and not attributes[name].startswith("data:"):
                self.outside.append(attributes[name])
        if tag == "img":
            self.images.append(attributes)
        self._caption = tag == "figcaption"

    def handle_data(self, data):
        if self._caption:
            self.captions.append(data)
            self._caption = False


def test_the_page_is_self_contained_and_holds_the_figures(written):
    parser = PageParser()
    parser.feed(written["page"])
    parser.close()
    assert parser.outside == []
    assert len(parser.images) == 2 + 2 + 1 + 2  # ROC and confusion matrix per level, reliability, heatmaps
    for image in parser.images:
        assert image["src"].startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(image["src"].split(",", 1)[1]))) as picture:
            assert picture.format == "PNG" and (picture.width, picture.height) == (int(image["width"]),
                                                                                   int(image["height"]))
    captions = " | ".join(parser.captions)
    for words in ("ROC of P(grade >= 2), per eye", "per patient", "confusion matrix", "reliability", "Grad-CAM"):
        assert words in captions
    assert "Operating points fixed beforehand on the development split" in written["page"]
    assert "ungradable to the dataset&#x27;s graders" in written["page"]
    assert sorted(os.listdir(written["directory"])) == [trial_report.REPORT_HTML, trial_report.REPORT_JSON]


def test_dme_makes_a_photo_referable_and_the_dataset_names_the_patients(development):
    names, labels, probabilities = constructed_split(np.random.default_rng(12), 10, singles=0)
    labels[:4] = [0, 0, 1, 1]
    dme = np.full(len(names), -1)
    dme[:4] = [1, 0, 2, 0]
    extras = {"dme": dme, "patient": np.array(["A"] * 4 + [""] * (len(names) - 4))}
    predictions = model_runner.Predictions(names, labels, probabilities, extras=extras)
    report = trial_report.build(predictions, development, "test", "messidor2", "model.ckpt-9", 9)
    assert report["referable"] == "grade >= 2 or DME"
    assert report["eye"]["referable"] == int((labels >= 2).sum()) + 2
    assert report["patient"]["units"] == 1 + 8  # patient A has the first four photos


def test_the_conversion_folders_name_the_photos_kept_out_and_those_the_graders_could_not_grade(tmp_path):
    tfrecords = tmp_path / "tfrecords"
    tfrecords.mkdir()
    for split, folder, name in (("validation", "0", "5_left"), ("validation", "2", "5_right"), ("train", "1", "6_left"),
                                ("validation_ungradable", "unlabelled", "7_left")):
        (tmp_path / "processed_images" / split / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "processed_images" / split / folder / f"{name}.jpeg").write_bytes(b"")
    with open(tmp_path / "quality.csv", "w", newline="") as handle:
        fundus_quality.write_csv(handle, {"5_left": good(), "5_right": good(False), "6_left": good(False),
                                          "7_left": good()})
    # Kaggle's layout has no graders' verdicts; DDR's has a `validation_ungradable` split.
    for dataset, graders in (("diabetic", None), ("ddr", ["7_left"])):
        conversion = imageability.conversion_photos(str(tfrecords), dataset, "validation")
        assert conversion.split == {"5_left", "5_right"} and len(conversion.qualities) == 4
        summary = imageability.summarise(conversion, ["5_left"])
        assert summary["ungradable_kept_out"] == ["5_right"] and summary["gradable"].successes == 1
        assert summary["patients_gradable"].successes == 0  # patient 5 has an ungradable eye
        assert summary["graders_ungradable"] == graders
    assert (summary["graders_gradable"].successes, summary["graders_gradable"].total) == (1, 2)
    # Without a conversion beside the TFRecords nothing is known.
    elsewhere = imageability.conversion_photos(str(tmp_path / "other" / "tfrecords"), "ddr", "validation")
    unknown = imageability.summarise(elsewhere, ["5_left"])
    assert unknown["measured"] == 0 and unknown["ungradable_kept_out"] is None and unknown["unmeasured"] == 1


def read_report(directory):
    with open(os.path.join(directory, trial_report.REPORT_JSON), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.mark.slow
def test_eval_reports_at_the_operating_points_it_fixed_on_validation(trained_run, tmp_path):
    train_dir, tfrecords, _ = trained_run
    model = str(tmp_path / "train")
    shutil.copytree(train_dir, model)  # --fit_grading records into the model's folder
    fitted = run_script("eval_image_classifier.py", f"--checkpoint_path={model}", f"--dataset_dir={tfrecords}",
                        "--dataset_split_name=validation", "--fit_grading", f"--eval_dir={tmp_path / 'eval'}",
                        f"--report_dir={tmp_path / 'development'}")
    assert fitted.returncode == 0, fitted.stderr[-3000:]
    fixed = run_settings.read(model)[fitting.GRADING][operating_points.RECORD_KEY]
    assert read_report(tmp_path / "development")["development_split"]["is_this_split"]
    tested = run_script("eval_image_classifier.py", f"--checkpoint_path={model}", f"--dataset_dir={tfrecords}",
                        "--dataset_split_name=train", f"--eval_dir={tmp_path / 'eval_train'}",
                        f"--report_dir={tmp_path / 'report'}")
    assert tested.returncode == 0, tested.stderr[-3000:]
    report = read_report(tmp_path / "report")
    assert not report["development_split"]["is_this_split"]
    for level in ("eye", "patient"):
        assert report[level]["units"] > 0 and report[level]["auc"]["low"] <= report[level]["auc"]["estimate"]
        thresholds = {name: point["threshold"] for name, point in
                      report[level]["operating_points"]["development"].items()}
        assert thresholds == fixed[level]
    qualities, evaluated = image_folder.conversion_qualities(tfrecords), set(read_encoded_images(tfrecords, "train"))
    summary = report["imageability"]
    assert summary["measured"] == len(evaluated) + len(summary["ungradable_kept_out"]) and summary["unmeasured"] == 0
    assert summary["gradable"]["successes"] == sum(qualities[name].gradable for name in evaluated)
    assert all(name not in evaluated and not qualities[name].gradable for name in summary["ungradable_kept_out"])
    with open(tmp_path / "report" / trial_report.REPORT_HTML, encoding="utf-8") as handle:
        assert handle.read().count("<img ") == 2 + 2 + 1 + 3  # ROC, confusion matrices, reliability, 3 heatmaps


@pytest.mark.slow
def test_report_dir_on_a_dataset_without_dr_grades_is_a_one_line_error(tmp_path):
    result = run_script("eval_image_classifier.py", f"--checkpoint_path={tmp_path}", "--dataset_name=flowers",
                        f"--dataset_dir={tmp_path}", f"--report_dir={tmp_path / 'report'}",
                        f"--eval_dir={tmp_path / 'eval'}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "eval_image_classifier.py: --report_dir applies to diabetic-retinopathy grades only; "
        "--dataset_name=flowers has classes, not DR grades")
    assert os.listdir(tmp_path) == []
