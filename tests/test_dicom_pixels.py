"""Display mapping on DICOM files whose right answer the standard fixes: window after rescale, signed data, ..."""
import os

import numpy as np
import pydicom
import pytest

from dicom_samples import bundled, write_ct_slice
from dicom_tools import export, pixels, reading
from test_dicom_bundled_files import read_png


def export_one(path, bit_depth=8):
    """Exports `path` into a sibling folder and returns the first PNG as an (H, W, planes) int64 array."""
    output_dir = os.path.join(os.path.dirname(path), "png")
    written, _ = export.export_file(path, os.path.basename(path), output_dir, bit_depth)
    image, info = read_png(os.path.join(output_dir, written[0]))
    assert info["bitdepth"] == bit_depth
    return image.astype(np.int64)


@pytest.fixture
def hounsfield_ramp(tmp_path):
    """Stored values 0..4095 with intercept -1024, i.e. -1024..3071 HU, soft-tissue window 40/400."""
    stored = np.arange(4096, dtype=np.int16).reshape(64, 64)
    return write_ct_slice(str(tmp_path / "ramp.dcm"), stored, RescaleSlope=1, RescaleIntercept=-1024,
                          WindowCenter=40, WindowWidth=400)


def test_window_applies_to_rescaled_values(hounsfield_ramp):
    exported = export_one(hounsfield_ramp)[..., 0].ravel()
    hounsfield = np.arange(4096) - 1024
    assert (exported[hounsfield <= -161] == 0).all()
    assert (exported[hounsfield >= 240] == 255).all()
    assert exported[hounsfield == 40][0] in (127, 128)
    assert np.all(np.diff(exported) >= 0)


def test_16_bit_export_spans_the_16_bit_range(hounsfield_ramp):
    exported = export_one(hounsfield_ramp, bit_depth=16)[..., 0].ravel()
    assert exported.min() == 0 and exported.max() == 65535
    inside = exported[(np.arange(4096) - 1024 > -160) & (np.arange(4096) - 1024 < 239)]
    assert len(np.unique(inside)) == len(inside)


def test_first_window_is_used_when_there_are_several(tmp_path):
    stored = np.arange(4096, dtype=np.int16).reshape(64, 64)
    path = write_ct_slice(str(tmp_path / "two.dcm"), stored, WindowCenter=[1000, 3000], WindowWidth=[200, 200])
    exported = export_one(path)[..., 0].ravel()
    assert exported[1100] == 255 and exported[899] == 0


def test_signed_values_without_window_are_min_max_scaled_without_wrapping(tmp_path):
    stored = np.linspace(-2000, 2000, 400).astype(np.int16).reshape(20, 20)
    exported = export_one(write_ct_slice(str(tmp_path / "signed.dcm"), stored))[..., 0].ravel()
    assert exported[0] == 0 and exported[-1] == 255 and np.all(np.diff(exported) >= 0)


def test_constant_image_gives_zeros_not_nan(tmp_path):
    stored = np.full((8, 8), 700, dtype=np.int16)
    with np.errstate(all="raise"):
        exported = export_one(write_ct_slice(str(tmp_path / "flat.dcm"), stored))
    assert (exported == 0).all()


def test_min_max_spans_the_whole_multi_frame_file(tmp_path):
    frames = np.stack([np.full((4, 4), 100, np.int16), np.full((4, 4), 300, np.int16)])
    path = write_ct_slice(str(tmp_path / "frames.dcm"), frames)
    written, _ = export.export_file(path, "frames.dcm", str(tmp_path / "png"))
    first, second = (read_png(str(tmp_path / "png" / name))[0] for name in written)
    assert written == ["frames_frame0001.png", "frames_frame0002.png"]
    assert (first == 0).all() and (second == 255).all()


def test_monochrome1_is_the_inverse_of_the_same_data_as_monochrome2(tmp_path):
    stored = np.arange(256, dtype=np.uint16).reshape(16, 16) * 16
    normal = export_one(write_ct_slice(str(tmp_path / "m2" / "a.dcm"), stored, "MONOCHROME2"))
    inverted = export_one(write_ct_slice(str(tmp_path / "m1" / "a.dcm"), stored, "MONOCHROME1"))
    assert np.array_equal(inverted, 255 - normal)


def test_planar_configuration_is_honoured(tmp_path):
    dataset = pydicom.dcmread(bundled("examples_rgb_color.dcm"))
    interleaved = dataset.pixel_array
    dataset.PlanarConfiguration = 1
    dataset.PixelData = np.ascontiguousarray(interleaved.transpose(2, 0, 1)).tobytes()
    dataset.save_as(str(tmp_path / "planar.dcm"))
    assert np.array_equal(export_one(str(tmp_path / "planar.dcm")), interleaved.astype(np.int64))


def test_overlays_are_not_burned_in(tmp_path):
    dataset = pydicom.dcmread(bundled("examples_overlay.dcm"))
    overlay = dataset.overlay_array(0x6000).astype(bool)
    with_overlay = export_one(bundled("examples_overlay.dcm"))
    assert overlay.any() and not (with_overlay[overlay] == 255).all()
    del dataset[0x60000000:0x60010000]
    dataset.save_as(str(tmp_path / "no_overlay.dcm"))
    assert np.array_equal(with_overlay, export_one(str(tmp_path / "no_overlay.dcm")))


def test_unsupported_photometric_interpretation_is_a_clear_error():
    dataset = pydicom.dcmread(bundled("CT_small.dcm"))
    with pytest.raises(reading.DicomError, match="photometric interpretation HSV is not supported"):
        pixels.to_display(dataset, dataset.pixel_array, "HSV")
