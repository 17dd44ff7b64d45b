"""Turns decoded DICOM pixel data into display-ready uint8/uint16 images with pydicom's own LUT functions.

Greyscale: Modality LUT / rescale, then the first VOI LUT or window (else min-max over the whole file),
MONOCHROME1 inverted. Colour: pydicom's decoder already gave RGB; samples are scaled by Bits Stored,
never stretched. PALETTE COLOR goes through its LUT; 1-bit segmentations become 0/max.
"""
import numpy as np
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing

from dicom_tools.reading import DicomError

OUTPUT_DTYPES = {8: np.uint8, 16: np.uint16}
_FAR_OUTSIDE_THE_WINDOW = 1000


def to_display(dataset, array, photometric_interpretation, bit_depth=8):
    """Maps decoded pixels to the full range of `bit_depth`-bit samples.

    Args:
      dataset: the pydicom Dataset the pixels came from (for its LUTs, windows and bit depths).
      array: pixels as decoded, frames first for multi-frame data.
      photometric_interpretation: the interpretation of `array` (RGB once pydicom converted YBR).
      bit_depth: 8 or 16.

    Returns:
      An array of the same shape (plus a trailing 3 for palette colour) with dtype uint8 or uint16.

    Raises:
      DicomError: a photometric interpretation or LUT this tool cannot display.
    """
    out_max = np.iinfo(OUTPUT_DTYPES[bit_depth]).max
    if photometric_interpretation == "RGB":
        scaled = array.astype(np.float64) * (out_max / (2 ** int(dataset.BitsStored) - 1))
    elif photometric_interpretation == "PALETTE COLOR":
        rgb = apply_color_lut(array, dataset)
        scaled = rgb.astype(np.float64) * (out_max / np.iinfo(rgb.dtype).max)
    elif photometric_interpretation in ("MONOCHROME1", "MONOCHROME2"):
        scaled = _greyscale(dataset, array) * out_max
        if photometric_interpretation == "MONOCHROME1":
            scaled = out_max - scaled
    else:
        raise DicomError(f"photometric interpretation {photometric_interpretation} is not supported")
    return np.clip(np.rint(scaled), 0, out_max).astype(OUTPUT_DTYPES[bit_depth])


def _greyscale(dataset, array):
    """Returns values in [0, 1]: 0 for the darkest, 1 for the brightest (MONOCHROME2 sense)."""
    if int(dataset.BitsAllocated) == 1:
        return array.astype(np.float64)
    values = apply_modality_lut(array, dataset).astype(np.float64)
    if "VOILUTSequence" in dataset:
        values = apply_voi(np.rint(values).astype(np.int64), dataset, index=0).astype(np.float64)
        low, high = 0, 2 ** int(dataset.VOILUTSequence[0].LUTDescriptor[2]) - 1
    elif "WindowCenter" in dataset and "WindowWidth" in dataset:
        try:
            values = apply_windowing(values, dataset, index=0)
        except (ValueError, TypeError) as error:
            raise DicomError(f"invalid VOI window: {error}") from error
        low, high = _window_output_range(dataset)
    else:
        low, high = values.min(), values.max()
    if high <= low:
        return np.zeros(values.shape)
    return (values - low) / (high - low)


def _window_output_range(dataset):
    """The range pydicom maps a window onto (it depends on the stored bits and rescale).

    Values far below and far above the window land on its ends, whatever the VOI LUT function.
    """
    center, width = (_first(dataset.WindowCenter), _first(dataset.WindowWidth))
    far = np.array([center - _FAR_OUTSIDE_THE_WINDOW * width, center + _FAR_OUTSIDE_THE_WINDOW * width])
    with np.errstate(over="ignore"):
        low, high = apply_windowing(far, dataset, index=0)
    return low, high


def _first(value):
    """Window Center/Width may hold several windows; the first one is the default view."""
    return float(value[0] if isinstance(value, MultiValue) else value)
