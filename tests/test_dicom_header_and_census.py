"""Header dump, tag parsing, the tag value census and the choice of labels from a dirty field."""
import collections

import numpy as np
import pydicom
import pytest

from dicom_samples import bundled, write_ct_slice
from dicom_tools import census, header, labels, reading

DIRTY_DIAGNOSES = ["No DR"] * 60 + ["Moderate"] * 30 + ["Mild"] * 8 + ["moderate", "Moderat", "No  DR"]


@pytest.fixture(scope="module")
def dirty_folder(tmp_path_factory):
    """101 tiny CT slices whose StudyDescription holds a diagnosis with typos, plus one without it."""
    folder = tmp_path_factory.mktemp("dirty")
    pixels = np.zeros((4, 4), np.int16)
    for number, diagnosis in enumerate(DIRTY_DIAGNOSES):
        write_ct_slice(str(folder / f"study{number % 3}" / f"{number:03d}.dcm"), pixels, StudyDescription=diagnosis)
    write_ct_slice(str(folder / "undiagnosed.dcm"), pixels)
    (folder / "notes.txt").write_text("not DICOM")
    return folder


@pytest.mark.parametrize("text", ["StudyDescription", "0008,1030", "(0008,1030)", "00081030"])
def test_tags_parse_as_keywords_or_hex_pairs(text):
    assert header.parse_tag(text) == pydicom.tag.Tag(0x0008, 0x1030)


def test_unknown_tag_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown tag 'Diagnosys'"):
        header.parse_tag("Diagnosys")


def test_dump_decodes_the_character_set_and_indents_sequences():
    dataset = reading.read_dicom(pydicom.data.get_charset_files("chrFren.dcm")[0])
    lines = list(header.header_lines(dataset))
    assert "(0010,0010) PatientName PN 'Buc^Jérôme'" in lines
    assert any(line.startswith("(0002,0010) TransferSyntaxUID UI") for line in lines)
    nested = list(header.header_lines(reading.read_dicom(bundled("rtplan.dcm"))))
    assert any(line.startswith("  item 1") for line in nested)
    assert any(line.startswith("    (300A,") for line in nested)


def test_dump_abbreviates_pixel_data():
    lines = list(header.header_lines(reading.read_dicom(bundled("CT_small.dcm"))))
    assert "(7FE0,0010) PixelData OW Array of 32768 elements" in lines


def test_census_counts_values_missing_and_unreadable(dirty_folder):
    paths = sorted(str(path) for path in dirty_folder.rglob("*") if path.is_file())
    result = census.count_tag(paths, header.parse_tag("StudyDescription"))
    assert result.counts == collections.Counter(DIRTY_DIAGNOSES)
    assert result.missing == 1 and result.files == 102
    assert list(result.unreadable) == [str(dirty_folder / "notes.txt")]
    assert result.values_covering(0.99) == 5 and result.values_covering(0.97) == 3


def test_census_report_is_most_common_first_with_shares_and_the_99_percent_line(dirty_folder):
    paths = sorted(str(path) for path in dirty_folder.rglob("*.dcm"))
    lines = list(census.count_tag(paths, header.parse_tag("StudyDescription")).report_lines())
    assert lines[0] == "(0008,1030) StudyDescription in 102 DICOM files"
    assert lines[2] == "      60   58.8%  'No DR'"
    assert lines[3] == "      30   29.4%  'Moderate'"
    assert "       1    1.0%  (missing)" in lines
    assert lines[-1] == "5 of 6 values cover 99% of the 101 files with the tag"


def test_min_label_count_keeps_the_frequent_values_and_reports_the_tail():
    values = {"a.dcm": "No DR", "b.dcm": "No DR", "c.dcm": "Mild", "d.dcm": "Mild", "e.dcm": "Mld", "f.dcm": None}
    kept, dropped = labels.choose_labels(values, min_count=2)
    assert kept == {"a.dcm": "No DR", "b.dcm": "No DR", "c.dcm": "Mild", "d.dcm": "Mild"}
    assert labels.dropped_report(dropped) == "dropped 2 files with 2 values not kept as labels: 'Mld' x1, (missing) x1"


def test_label_map_maps_typos_to_classes_and_drops_the_rest(tmp_path):
    label_map_path = tmp_path / "map.csv"
    label_map_path.write_text("value,label\nNo DR,0\nMild,1\nMld,1\n")
    label_map = labels.read_label_map(str(label_map_path))
    kept, dropped = labels.choose_labels({"a": "No DR", "b": "Mld", "c": "Mild", "d": "??"}, label_map=label_map)
    assert kept == {"a": "0", "b": "1", "c": "1"} and dropped == {"??": 1}


def test_label_map_without_its_header_is_refused(tmp_path):
    (tmp_path / "map.csv").write_text("No DR,0\n")
    with pytest.raises(ValueError, match="needs the header 'value,label'"):
        labels.read_label_map(str(tmp_path / "map.csv"))
