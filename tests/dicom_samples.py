"""Builds small DICOM files with pydicom for the tests: CT-like slices with chosen header values."""
import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

BUNDLED_FOLDER = os.path.dirname(pydicom.data.get_testdata_files("CT_small.dcm")[0])


def bundled(name):
    """Path of one of pydicom's bundled test files."""
    return os.path.join(BUNDLED_FOLDER, name)


def write_ct_slice(path, pixels, photometric_interpretation="MONOCHROME2", **attributes):
    """Writes a CT Image Storage file holding `pixels` (int16/uint16, 2-D or frames first).

    `attributes` are set on the data set as given, e.g. RescaleIntercept=-1024, WindowCenter=40.
    """
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = CTImageStorage
    dataset.SOPClassUID = CTImageStorage
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.Modality = "CT"
    bits_stored = 12 if pixels.dtype == np.uint16 else 16
    dataset.set_pixel_data(pixels, photometric_interpretation, bits_stored)
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    dataset.save_as(path, enforce_file_format=True)
    return path
