"""Exports every DICOM image under a folder as PNG, mirroring the folder layout; bad files never stop the batch.

`IN/a/b/x.dcm` becomes `OUT/a/b/x.png`; a multi-frame file becomes `OUT/a/b/x_frame0001.png` ... (1-based).
"""
import os
import sys

import png

from dicom_tools import header, pixels, reading
from utils import atomic_files

# Suffixes under which a file is expected to be DICOM: a file so named that is not DICOM failed;
# any other file that is not DICOM (a README, a JSON sidecar) is skipped.
DICOM_SUFFIXES = ("", ".dcm", ".dicom", ".dic", ".ima")


class ExportResult:
    """What an export did: per-file outcomes, the PNGs written and, with a label tag, each file's value."""

    def __init__(self):
        self.pngs = {}
        self.skipped = {}
        self.failed = {}
        self.label_values = {}

    @property
    def images(self):
        return sum(len(written) for written in self.pngs.values())

    def summary(self):
        """Returns `exported N files (M images), skipped K, failed F`."""
        return (f"exported {len(self.pngs)} files ({self.images} images), "
                f"skipped {len(self.skipped)}, failed {len(self.failed)}")


def find_files(input_dir, exclude_dir=None):
    """Returns every file under `input_dir`, sorted, as paths relative to it (skipping `exclude_dir`)."""
    exclude = os.path.realpath(exclude_dir) if exclude_dir else None
    found = []
    for folder, subfolders, files in os.walk(input_dir):
        subfolders[:] = sorted(name for name in subfolders
                               if os.path.realpath(os.path.join(folder, name)) != exclude)
        found.extend(os.path.relpath(os.path.join(folder, name), input_dir) for name in sorted(files))
    return found


def _named_like_dicom(relative_path):
    suffix = os.path.splitext(relative_path)[1].lower()
    return suffix in DICOM_SUFFIXES or suffix[1:].isdigit()


def png_paths(relative_path, number_of_frames):
    """Returns the PNG paths (relative) for a DICOM file: one, or one per frame when it has several."""
    stem, suffix = os.path.splitext(relative_path)
    if suffix.lower() not in DICOM_SUFFIXES:
        stem = relative_path
    if number_of_frames == 1:
        return [stem + ".png"]
    return [f"{stem}_frame{frame:04d}.png" for frame in range(1, number_of_frames + 1)]


def write_png(path, image):
    """Writes a uint8/uint16 image (H, W) or (H, W, 3) to `path` via a temporary name (atomic)."""
    height, width = image.shape[:2]
    planes = 1 if image.ndim == 2 else image.shape[2]
    writer = png.Writer(width, height, greyscale=planes == 1, bitdepth=image.dtype.itemsize * 8)
    with atomic_files.open_atomically(path, "wb") as handle:
        writer.write(handle, image.reshape(height, width * planes))


def export_file(path, relative_path, output_dir, bit_depth=8, label_tag=None):
    """Exports one DICOM file.

    Returns:
      (relative PNG paths written, the label tag's value as text or None).

    Raises:
      reading.NotDicomError, reading.DicomError: the file failed.
      reading.NoPixelDataError: nothing to export.
    """
    dataset = reading.read_dicom(path)
    array, photometric_interpretation = reading.decode_pixels(dataset)
    number_of_frames = int(dataset.get("NumberOfFrames") or 1)
    images = pixels.to_display(dataset, array, photometric_interpretation, bit_depth)
    frames = [images] if number_of_frames == 1 else list(images)
    written = png_paths(relative_path, number_of_frames)
    os.makedirs(os.path.join(output_dir, os.path.dirname(relative_path)), exist_ok=True)
    for image, png_path in zip(frames, written):
        write_png(os.path.join(output_dir, png_path), image)
    label = header.value_as_text(dataset, label_tag) if label_tag is not None else None
    return written, label


def export_files(input_dir, relative_paths, output_dir, bit_depth=8, label_tag=None, progress=None, log=None):
    """Exports the DICOM files `relative_paths` under `input_dir` to PNGs under `output_dir`.

    Args:
      input_dir: the folder `relative_paths` are relative to (see `find_files`).
      relative_paths: the files to try; those that are not DICOM are reported, not fatal.
      output_dir: where the PNGs go (created).
      bit_depth: 8 or 16 bits per sample.
      label_tag: optional pydicom Tag whose value is recorded per exported file.
      progress: optional object with `update(count)`, told after each file.
      log: callable taking one line per skipped or failed file (default: stderr).

    Returns:
      An `ExportResult`.
    """
    log = log or (lambda line: print(line, file=sys.stderr))
    os.makedirs(output_dir, exist_ok=True)
    result = ExportResult()
    for relative_path in relative_paths:
        try:
            written, label = export_file(os.path.join(input_dir, relative_path), relative_path,
                                         output_dir, bit_depth, label_tag)
            result.pngs[relative_path] = written
            if label_tag is not None:
                result.label_values[relative_path] = label
        except reading.NotDicomError as error:
            outcome = result.failed if _named_like_dicom(relative_path) else result.skipped
            outcome[relative_path] = str(error)
        except reading.NoPixelDataError as error:
            result.skipped[relative_path] = str(error)
        except (reading.DicomError, OSError) as error:
            result.failed[relative_path] = str(error)
        except Exception as error:  # pylint: disable=broad-except; one odd file must not stop the batch
            result.failed[relative_path] = f"{type(error).__name__}: {error}"
        if relative_path in result.failed:
            log(f"failed {relative_path}: {result.failed[relative_path]}")
        elif relative_path in result.skipped:
            log(f"skipped {relative_path}: {result.skipped[relative_path]}")
        if progress is not None:
            progress.update(1)
    return result
