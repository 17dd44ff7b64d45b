"""Exports pydicom's bundled test files and checks each outcome and what the DICOM standard fixes."""
import os

import numpy as np
import png
import pydicom
import pytest
from pydicom.pixels import convert_color_space

from dicom_samples import BUNDLED_FOLDER
from dicom_tools import export

NO_DECODER = {  # pylibjpeg / gdcm are optional extras, not installed here
    "JPEGLSNearLossless_08.dcm": "JPEG-LS Lossy",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS Lossy",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS Lossless",
    "SC_rgb_jls_lossy_line.dcm": "JPEG-LS Lossy",
    "SC_rgb_jls_lossy_sample.dcm": "JPEG-LS Lossy",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG Lossless",
}
PILLOW_CANNOT = {  # pillow is installed but cannot decode these: the reason names the other decoders
    "JPEG-lossy.dcm": "12-bit precision",
    "JPGExtended.dcm": "12-bit precision",
    "GDCMJ2K_TextGBR.dcm": "broken data stream",
    "JPEG2000-embedded-sequence-delimiter.dcm": "exceeds limit",
}
OTHER_FAILURES = {
    "MR_truncated.dcm": "truncated: element (7FE0,0010) declares 8192 bytes but the file ends after 8130",
    "rtplan_truncated.dcm": "truncated",
    "no_meta.dcm": "not DICOM",
    "meta_missing_tsyntax.dcm": "Bits Allocated",
    "nested_priv_SQ.dcm": "Bits Allocated",
    "badVR.dcm": "invalid literal",
    "dicomdirtests/TINY_ALPHA/README": "not DICOM",
}
SKIPPED_NOT_DICOM = ["README.txt", "crayons.icc", "zipMR.gz", "test1.json", "rtplan.dump", "rtstruct.dump"]
SKIPPED_NO_PIXELS = {
    "rtplan.dcm": "RT Plan Storage", "test-SR.dcm": "Comprehensive SR Storage",
    "dicomdirtests/DICOMDIR": "Media Storage Directory Storage", "rtstruct.dcm": "RT Structure Set Storage",
    "ExplVR_LitEndNoMeta.dcm": "RT Ion Plan Storage", "waveform_ecg.dcm": "12-lead ECG Waveform Storage",
}
# name: (PNGs, height, width, planes)
SHAPES = {
    "CT_small.dcm": (1, 128, 128, 1), "MR_small_RLE.dcm": (1, 64, 64, 1), "693_J2KI.dcm": (1, 512, 512, 1),
    "JPEG2000.dcm": (1, 1024, 256, 1), "dicomdirtests/77654033/CR1/6154": (1, 16, 16, 1),
    "image_dfl.dcm": (1, 512, 512, 1),
    "examples_palette.dcm": (1, 350, 800, 3), "examples_ybr_color.dcm": (30, 240, 320, 3),
    "examples_jpeg2k.dcm": (1, 480, 640, 3), "SC_rgb_rle_32bit_2frame.dcm": (2, 100, 100, 3),
    "rtdose.dcm": (15, 10, 10, 1), "liver_1frame.dcm": (1, 512, 512, 1), "SC_rgb_small_odd.dcm": (1, 3, 3, 3),
    "ExplVR_BigEnd.dcm": (1, 60, 80, 3), "examples_overlay.dcm": (1, 300, 484, 1),
}


def read_png(path):
    """Returns (array of shape (H, W, planes), pypng info)."""
    width, height, rows, info = png.Reader(filename=path).read()
    return np.vstack([np.asarray(row) for row in rows]).reshape(height, width, info["planes"]), info


@pytest.fixture(scope="module")
def bundled_export(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("bundled_png"))
    files = export.find_files(BUNDLED_FOLDER)
    result = export.export_files(BUNDLED_FOLDER, files, output_dir, log=lambda line: None)
    return result, output_dir


def png_of(bundled_export, name, frame=0):
    result, output_dir = bundled_export
    return read_png(os.path.join(output_dir, result.pngs[name][frame]))[0].astype(np.int64)


def test_every_bundled_file_with_decodable_pixels_is_exported(bundled_export):
    result, _ = bundled_export
    expected_failures = set(NO_DECODER) | set(PILLOW_CANNOT) | set(OTHER_FAILURES)
    for path in pydicom.data.get_testdata_files():
        name = os.path.relpath(path, BUNDLED_FOLDER)
        if os.path.isdir(path) or name in expected_failures or name in result.skipped:
            continue
        dataset = pydicom.dcmread(path, force=True)
        if "PixelData" in dataset:
            assert name in result.pngs, f"{name}: {result.failed.get(name)}"
    assert len(result.pngs) >= 80 and result.images >= 150


def test_failed_files_are_exactly_the_expected_ones_with_their_reasons(bundled_export):
    result, _ = bundled_export
    expected = {**NO_DECODER, **PILLOW_CANNOT, **OTHER_FAILURES}
    assert set(result.failed) == set(expected)
    for name, reason in expected.items():
        assert reason in result.failed[name], name


def test_missing_decoder_names_the_transfer_syntax_and_the_packages(bundled_export):
    result, _ = bundled_export
    for name, syntax in NO_DECODER.items():
        reason = result.failed[name]
        assert reason.startswith(f"no decoder installed for transfer syntax {syntax}")
        assert "1.2.840.10008.1.2.4." in reason and "pylibjpeg" in reason and "gdcm" in reason
    for name in PILLOW_CANNOT:
        assert "pillow:" in result.failed[name] and "other decoders: gdcm" in result.failed[name]


def test_files_without_pixel_data_and_foreign_files_are_skipped_with_a_reason(bundled_export):
    result, _ = bundled_export
    for name, kind in SKIPPED_NO_PIXELS.items():
        assert result.skipped[name] == f"no pixel data ({kind})"
    for name in SKIPPED_NOT_DICOM:
        assert result.skipped[name].startswith("not DICOM")


def test_png_sizes_modes_and_frame_counts(bundled_export):
    result, output_dir = bundled_export
    for name, (frames, height, width, planes) in SHAPES.items():
        assert len(result.pngs[name]) == frames, name
        for png_path in result.pngs[name]:
            image, info = read_png(os.path.join(output_dir, png_path))
            assert image.shape == (height, width, planes) and info["bitdepth"] == 8, name


def test_multi_frame_files_get_one_based_frame_suffixes_and_paths_mirror_folders(bundled_export):
    result, output_dir = bundled_export
    assert result.pngs["rtdose.dcm"][0] == "rtdose_frame0001.png"
    assert result.pngs["rtdose.dcm"][-1] == "rtdose_frame0015.png"
    assert result.pngs["dicomdirtests/77654033/CR1/6154"] == ["dicomdirtests/77654033/CR1/6154.png"]
    assert os.path.isfile(os.path.join(output_dir, "dicomdirtests", "77654033", "CR1", "6154.png"))


@pytest.mark.parametrize("twin", ["MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_implicit.dcm",
                                  "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_padded.dcm"])
def test_encodings_of_the_same_image_give_identical_pngs(bundled_export, twin):
    assert np.array_equal(png_of(bundled_export, "MR_small.dcm"), png_of(bundled_export, twin))


@pytest.mark.parametrize("first, second", [
    ("rtdose.dcm", "rtdose_expb.dcm"), ("rtdose.dcm", "rtdose_rle.dcm"),
    ("liver_1frame.dcm", "liver_expb_1frame.dcm"), ("SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm")])
def test_little_and_big_endian_twins_give_identical_pngs(bundled_export, first, second):
    result, _ = bundled_export
    for frame in range(len(result.pngs[first])):
        assert np.array_equal(png_of(bundled_export, first, frame), png_of(bundled_export, second, frame))


@pytest.mark.parametrize("deeper", ["SC_rgb_rle_16bit.dcm", "SC_rgb_rle_32bit.dcm"])
def test_rle_rgb_of_8_16_and_32_bits_are_identical_after_scaling_by_bits_stored(bundled_export, deeper):
    assert np.array_equal(png_of(bundled_export, "SC_rgb_rle.dcm"), png_of(bundled_export, deeper))
    assert np.array_equal(png_of(bundled_export, "SC_rgb_rle_2frame.dcm", 1),
                          png_of(bundled_export, deeper.replace(".dcm", "_2frame.dcm"), 1))


@pytest.mark.parametrize("ybr", ["SC_ybr_full_422_uncompressed.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                                 "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_+eb+cy+s4.dcm",
                                 "SC_rgb_jpeg_lossy_gdcm.dcm"])
def test_ybr_images_are_converted_to_rgb_exactly_once(bundled_export, ybr):
    reference = png_of(bundled_export, "SC_rgb_rle.dcm")
    exported = png_of(bundled_export, ybr)
    twice = convert_color_space(exported.astype(np.uint8), "YBR_FULL", "RGB").astype(np.int64)
    assert np.abs(exported - reference).mean() < 4
    assert np.abs(twice - reference).mean() > 40


def test_monochrome1_is_inverted_so_the_lowest_value_is_brightest(bundled_export):
    dataset = pydicom.dcmread(os.path.join(BUNDLED_FOLDER, "dicomdirtests", "77654033", "CR1", "6154"))
    assert dataset.PhotometricInterpretation == "MONOCHROME1"
    exported = png_of(bundled_export, "dicomdirtests/77654033/CR1/6154")[..., 0]
    stored = dataset.pixel_array
    assert exported[np.unravel_index(stored.argmin(), stored.shape)] == exported.max()
    assert exported[np.unravel_index(stored.argmax(), stored.shape)] == exported.min()


def test_one_bit_segmentation_becomes_0_and_255(bundled_export):
    exported = png_of(bundled_export, "liver_1frame.dcm")
    mask = pydicom.dcmread(os.path.join(BUNDLED_FOLDER, "liver_1frame.dcm")).pixel_array
    assert np.array_equal(exported[..., 0], mask.astype(np.int64) * 255)


def test_palette_colour_goes_through_its_lut(bundled_export):
    exported = png_of(bundled_export, "examples_palette.dcm")
    dataset = pydicom.dcmread(os.path.join(BUNDLED_FOLDER, "examples_palette.dcm"))
    index = int(dataset.pixel_array[175, 400])
    red_lut = np.frombuffer(dataset.RedPaletteColorLookupTableData, dtype="<u2")
    assert exported[175, 400, 0] == round(int(red_lut[index]) * 255 / 65535)
    assert exported.shape[-1] == 3 and len(np.unique(exported.reshape(-1, 3), axis=0)) > 50
