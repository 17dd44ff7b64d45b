"""Opens a file as DICOM, refuses what is not DICOM, and decodes its pixel data with pydicom's decoders.

Every problem becomes one exception whose message is a one-line reason: `NotDicomError` and
`DicomError` mean the file failed, `NoPixelDataError` means there is nothing to export (skip it).
"""
import os
import warnings

import pydicom
from pydicom import datadict, uid
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder

PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_ENCODING_TO_TRANSFER_SYNTAX = {
    (True, True): uid.ImplicitVRLittleEndian,
    (False, True): uid.ExplicitVRLittleEndian,
    (False, False): uid.ExplicitVRBigEndian,
}


class DicomError(Exception):
    """The file is DICOM but cannot be exported; the message says why."""


class NotDicomError(DicomError):
    """The file is not DICOM at all."""


class NoPixelDataError(Exception):
    """The file is DICOM without an image (RT plan, SR, DICOMDIR ...): skipped, not failed."""


def read_dicom(path, header_only=False):
    """Reads `path` as DICOM, with or without the 128-byte preamble and file meta.

    Args:
      path: the file.
      header_only: stop before the pixel data (fast; for dumps and tag counts).

    Returns:
      A `pydicom.Dataset` whose file meta names a transfer syntax whenever the pixel data is native.

    Raises:
      NotDicomError: empty, or not DICOM even when read leniently.
      DicomError: DICOM, but truncated or unparsable.
    """
    if os.path.getsize(path) == 0:
        raise NotDicomError("not DICOM: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                dataset = pydicom.dcmread(path, stop_before_pixels=header_only)
            except InvalidDicomError:
                # force=True also parses files without preamble and meta, and any garbage too.
                dataset = pydicom.dcmread(path, stop_before_pixels=header_only, force=True)
                _check_looks_like_dicom(dataset)
    except (OSError, EOFError, ValueError, KeyError, TypeError, NotImplementedError) as error:
        raise DicomError(f"unreadable DICOM: {error}") from error
    if not header_only and dataset.file_meta.get("TransferSyntaxUID") != uid.DeflatedExplicitVRLittleEndian:
        _check_not_truncated(dataset, os.path.getsize(path))
    _name_native_transfer_syntax(dataset)
    return dataset


def _check_looks_like_dicom(dataset):
    """Garbage read with force=True yields a first tag that no DICOM file starts with."""
    tags = list(dataset.keys())
    if not tags:
        raise NotDicomError("not DICOM: no preamble, no 'DICM' prefix and no data elements")
    first = tags[0]
    standard_start = first.group != 0 and first.group % 2 == 0 and (
        first.element == 0 or datadict.dictionary_has_tag(first))
    if not standard_start:
        raise NotDicomError(f"not DICOM: no 'DICM' prefix and the first bytes read as tag {first}, "
                            "which no DICOM data set starts with")


def _check_not_truncated(dataset, file_size):
    """pydicom stops quietly at the end of a cut file; a last value shorter than declared gives it away.

    (Positions in a deflated file are in the inflated stream, so those are not checked.)
    """
    if not dataset:
        return
    last = dataset.get_item(list(dataset.keys())[-1])
    declared = getattr(last, "length", None)
    start = getattr(last, "value_tell", None)
    if declared is None or start is None or declared == 0xFFFFFFFF:
        return
    if start + declared > file_size:
        raise DicomError(f"truncated: element {last.tag} declares {declared} bytes "
                         f"but the file ends after {file_size - start}")


def _name_native_transfer_syntax(dataset):
    """Files without file meta are native-encoded; name their transfer syntax so pydicom can decode."""
    if "TransferSyntaxUID" in dataset.file_meta or not has_pixel_data(dataset):
        return
    pixel_element = dataset.get_item(next(k for k in PIXEL_DATA_KEYWORDS if k in dataset))
    encapsulated = getattr(pixel_element, "length", 0) == 0xFFFFFFFF
    encoding = getattr(dataset, "original_encoding", None)
    if not encapsulated and encoding in _ENCODING_TO_TRANSFER_SYNTAX:
        dataset.file_meta.TransferSyntaxUID = _ENCODING_TO_TRANSFER_SYNTAX[encoding]


def has_pixel_data(dataset):
    """Returns whether `dataset` holds an image."""
    return any(keyword in dataset for keyword in PIXEL_DATA_KEYWORDS)


def describe(dataset):
    """Returns what kind of DICOM object `dataset` is, e.g. `RT Plan Storage`, for skip messages."""
    sop_class = dataset.get("SOPClassUID") or dataset.file_meta.get("MediaStorageSOPClassUID")
    if sop_class:
        return uid.UID(str(sop_class)).name
    return "Media Storage Directory" if "DirectoryRecordSequence" in dataset else "unknown object"


def decode_pixels(dataset):
    """Decodes all frames with pydicom, colour converted to RGB by pydicom (once, never again here).

    Returns:
      (array, photometric interpretation of the array): frames first when NumberOfFrames > 1.

    Raises:
      NoPixelDataError: the data set has no pixel data.
      DicomError: no decoder is installed for the transfer syntax, or decoding failed.
    """
    if not has_pixel_data(dataset):
        raise NoPixelDataError(f"no pixel data ({describe(dataset)})")
    transfer_syntax = dataset.file_meta.get("TransferSyntaxUID")
    if transfer_syntax is None:
        raise DicomError("compressed pixel data but the file meta names no transfer syntax")
    syntax = f"transfer syntax {transfer_syntax.name} ({transfer_syntax})"
    try:
        decoder = get_decoder(transfer_syntax)
    except NotImplementedError as error:
        raise DicomError(f"no decoder exists in pydicom for {syntax}") from error
    if not decoder.is_available:
        raise DicomError(f"no decoder installed for {syntax}; install one of: "
                         f"{'; '.join(decoder.missing_dependencies)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array, properties = decoder.as_array(dataset)
    except (AttributeError, ValueError, RuntimeError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())
        more = decoder.missing_dependencies
        hint = f"; other decoders: {'; '.join(more)}" if more else ""
        raise DicomError(f"cannot decode {syntax}: {reason}{hint}") from error
    return array, properties.get("photometric_interpretation", dataset.get("PhotometricInterpretation"))
