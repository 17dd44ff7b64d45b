"""Bad and odd input: each gets its own outcome and one-line reason, and none stops the batch."""
import io
import os
import shutil

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import FileMetaDataset

from dicom_samples import bundled
from dicom_tools import export, reading
from test_dicom_bundled_files import read_png


@pytest.fixture
def odd_folder(tmp_path):
    """A folder mixing good DICOM, non-DICOM renamed .dcm, empty, truncated and preamble-less files."""
    folder = tmp_path / "in"
    (folder / "series").mkdir(parents=True)
    shutil.copy(bundled("CT_small.dcm"), folder / "series" / "good.dcm")
    jpeg = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(jpeg, format="JPEG")
    (folder / "photo.dcm").write_bytes(jpeg.getvalue())
    (folder / "notes.dcm").write_text("patient notes, not an image\n" * 4)
    (folder / "empty.dcm").write_bytes(b"")
    ct = open(bundled("CT_small.dcm"), "rb").read()
    (folder / "cut_in_pixels.dcm").write_bytes(ct[:-5000])
    uid_starts = pydicom.dcmread(bundled("CT_small.dcm")).get_item("StudyInstanceUID").value_tell
    (folder / "cut_in_header.dcm").write_bytes(ct[:uid_starts + 10])
    bare = pydicom.dcmread(bundled("CT_small.dcm"))
    bare.preamble, bare.file_meta = None, FileMetaDataset()
    bare.save_as(folder / "no_preamble.dcm", implicit_vr=False, little_endian=True)
    shutil.copy(bundled("rtplan.dcm"), folder / "plan.dcm")
    (folder / "README.md").write_text("# study export\n")
    return str(folder)


@pytest.fixture
def odd_export(odd_folder, tmp_path):
    lines = []
    output_dir = str(tmp_path / "out")
    result = export.export_files(odd_folder, export.find_files(odd_folder), output_dir, log=lines.append)
    return result, output_dir, lines


def test_non_dicom_files_named_dcm_fail_as_not_dicom(odd_export):
    result, _, _ = odd_export
    assert result.failed["photo.dcm"].startswith("not DICOM")
    assert result.failed["notes.dcm"].startswith("not DICOM")
    assert result.failed["empty.dcm"] == "not DICOM: empty file"


def test_truncated_files_fail_with_the_element_and_sizes(odd_export):
    result, _, _ = odd_export
    pixels_start = pydicom.dcmread(bundled("CT_small.dcm")).get_item("PixelData").value_tell
    kept = os.path.getsize(bundled("CT_small.dcm")) - 5000 - pixels_start
    assert result.failed["cut_in_pixels.dcm"] == (
        f"truncated: element (7FE0,0010) declares 32768 bytes but the file ends after {kept}")
    assert result.failed["cut_in_header.dcm"] == (
        "truncated: element (0020,000D) declares 44 bytes but the file ends after 10")


def test_file_without_preamble_and_meta_still_exports_like_the_original(odd_folder, odd_export):
    assert open(os.path.join(odd_folder, "no_preamble.dcm"), "rb").read(4) == b"\x08\x00\x05\x00"
    result, output_dir, _ = odd_export
    assert result.pngs["no_preamble.dcm"] == ["no_preamble.png"]
    original, _ = read_png(os.path.join(output_dir, "series", "good.png"))
    stripped, _ = read_png(os.path.join(output_dir, "no_preamble.png"))
    assert np.array_equal(original, stripped)


def test_dicom_without_pixels_and_foreign_files_are_skipped(odd_export):
    result, _, _ = odd_export
    assert result.skipped == {"plan.dcm": "no pixel data (RT Plan Storage)",
                              "README.md": result.skipped["README.md"]}
    assert result.skipped["README.md"].startswith("not DICOM")


def test_the_batch_goes_on_and_reports_one_line_per_problem(odd_export):
    result, _, lines = odd_export
    assert result.summary() == "exported 2 files (2 images), skipped 2, failed 5"
    assert len(lines) == 7 and all("\n" not in line for line in lines)
    assert "failed photo.dcm: not DICOM" in "\n".join(lines)


def test_no_temporary_files_are_left_behind(odd_export):
    _, output_dir, _ = odd_export
    leftovers = [name for _, _, files in os.walk(output_dir) for name in files if name.endswith(".tmp")]
    assert leftovers == []


def test_header_only_read_of_a_non_dicom_file_raises_not_dicom(odd_folder):
    with pytest.raises(reading.NotDicomError, match="not DICOM"):
        reading.read_dicom(os.path.join(odd_folder, "notes.dcm"), header_only=True)
