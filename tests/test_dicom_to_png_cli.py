"""dicom_to_png.py as users run it: the command lines, labels.csv, the summary line and exit statuses."""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from dicom_samples import bundled, write_ct_slice

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(*arguments):
    completed = subprocess.run([sys.executable, "dicom_to_png.py", *arguments], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=120)
    return completed.returncode, completed.stdout, completed.stderr


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    """Six slices: four 'No DR', one 'Mild', one 'Mld' (a typo), in two sub-folders."""
    folder = tmp_path_factory.mktemp("labelled")
    diagnoses = ["No DR", "No DR", "No DR", "Mild", "No DR", "Mld"]
    for number, diagnosis in enumerate(diagnoses):
        write_ct_slice(str(folder / f"p{number % 2}" / f"{number}.dcm"),
                       np.full((6, 6), number, np.int16), StudyDescription=diagnosis)
    return str(folder)


def test_dump_prints_the_header_and_exits_0():
    status, out, _ = run_tool("--dump", bundled("CT_small.dcm"))
    assert status == 0 and "(0008,0060) Modality CS 'CT'" in out.splitlines()


def test_dump_of_a_non_dicom_file_exits_1_with_the_reason(tmp_path):
    (tmp_path / "x.dcm").write_text("hello")
    status, _, err = run_tool("--dump", str(tmp_path / "x.dcm"))
    assert status == 1 and f"{tmp_path / 'x.dcm'}: not DICOM" in err


def test_count_tag_prints_the_census(labelled_folder):
    status, out, _ = run_tool("--input_dir", labelled_folder, "--count_tag", "0008,1030")
    assert status == 0
    assert "       4   66.7%  'No DR'" in out.splitlines()
    assert "3 of 3 values cover 99% of the 6 files with the tag" in out


def test_export_with_labels_writes_pngs_labels_csv_and_the_summary(labelled_folder, tmp_path):
    output_dir = str(tmp_path / "out")
    status, out, _ = run_tool("--input_dir", labelled_folder, "--output_dir", output_dir,
                              "--label_tag", "StudyDescription", "--min_label_count", "2")
    assert status == 0
    assert out.splitlines()[-1] == "exported 6 files (6 images), skipped 0, failed 0"
    assert "dropped 2 files with 2 values not kept as labels: 'Mild' x1, 'Mld' x1" in out
    with open(os.path.join(output_dir, "labels.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [{"image": image, "label": "No DR"} for image in ("p0/0.png", "p0/2.png", "p0/4.png", "p1/1.png")]
    assert all(os.path.isfile(os.path.join(output_dir, row["image"])) for row in rows)


def test_a_failed_file_makes_the_exit_status_1_after_the_rest_is_exported(tmp_path):
    shutil.copy(bundled("CT_small.dcm"), tmp_path / "good.dcm")
    (tmp_path / "bad.dcm").write_bytes(b"")
    status, out, err = run_tool("--input_dir", str(tmp_path), "--output_dir", str(tmp_path / "png"),
                                "--bit_depth", "16")
    assert status == 1
    assert "failed bad.dcm: not DICOM: empty file" in err
    assert out.splitlines()[-1] == "exported 1 files (1 images), skipped 0, failed 1"


@pytest.mark.parametrize("arguments", [
    [],
    ["--input_dir", "."],
    ["--input_dir", ".", "--count_tag", "NoSuchKeyword"],
    ["--input_dir", "/nonexistent", "--count_tag", "Modality"],
    ["--input_dir", ".", "--output_dir", "x", "--bit_depth", "12"],
    ["--input_dir", ".", "--output_dir", "x", "--min_label_count", "3"],
    ["--input_dir", ".", "--output_dir", "x", "--label_tag", "Modality", "--min_label_count", "3",
     "--label_map", "map.csv"],
    ["--no_such_flag"],
])
def test_usage_errors_exit_2(arguments, tmp_path):
    (tmp_path / "map.csv").write_text("value,label\n")
    status, _, err = run_tool(*[str(tmp_path / "map.csv") if argument == "map.csv" else argument
                                for argument in arguments])
    assert status == 2, err


def test_an_output_dir_inside_a_file_is_a_usage_error_before_any_export(labelled_folder, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("notes")
    status, out, err = run_tool("--input_dir", labelled_folder, "--output_dir", str(notes / "png"))
    assert status == 2
    assert err.splitlines()[0] == f"usage error: --output_dir={notes / 'png'}: cannot write there (Not a directory)"
    assert out == ""
