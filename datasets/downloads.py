"""Fetching a dataset's archives: the copy already in the dataset folder, else a download.

Clinics and build machines often have no network. Every archive is first looked
for, under the file name of its URL, in the dataset folder: put it there (downloaded
elsewhere) and nothing is downloaded. Otherwise it is downloaded there, under a
temporary name renamed when complete, with progress lines.
"""
import os
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile

from absl import logging

from utils import atomic_files, progress

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60


def _copy_with_progress(response, handle, name):
    total = int(response.headers.get("Content-Length") or 0)
    log = progress.ProgressLog(total >> 20, what=f"MiB of {name}")
    while chunk := response.read(CHUNK_BYTES):
        handle.write(chunk)
        log.update(len(chunk) / (1 << 20))


def download_url(url, dataset_dir):
    """Returns the path in `dataset_dir` of the file that `url` names, downloading it unless it is there.

    Raises:
      ValueError: it is not there and cannot be downloaded (one line: the file, the URL, the reason).
    """
    filename = url.split("/")[-1]
    path = os.path.join(dataset_dir, filename)
    if os.path.exists(path):
        logging.info("Using %s (already there; not downloading %s)", path, url)
        return path
    logging.info("Downloading %s to %s", url, path)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, \
                atomic_files.open_atomically(path, "wb") as handle:
            _copy_with_progress(response, handle, filename)
    except (OSError, urllib.error.URLError) as error:
        reason = getattr(error, "reason", error)
        raise ValueError(f"{path} is missing and {url} could not be downloaded ({reason}); download it where "
                         "the network allows and put it there") from error
    return path


def download_and_uncompress_tarball(tarball_url, dataset_dir):
    """Extracts the .tar(.gz) archive of `tarball_url` into `dataset_dir` (downloaded unless it is there)."""
    path = download_url(tarball_url, dataset_dir)
    with tarfile.open(path, "r:*") as archive:
        archive.extractall(dataset_dir, filter="data")
    return path


def download_and_uncompress_zipfile(zip_url, dataset_dir):
    """Extracts the .zip archive of `zip_url` into `dataset_dir` (downloaded unless it is there)."""
    path = download_url(zip_url, dataset_dir)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(dataset_dir)
    return path


def main(argv):
    """`python -m datasets.downloads URL FOLDER`: prints the path of URL's file in FOLDER (there, or downloaded)."""
    if len(argv) != 3:
        sys.exit("usage: python -m datasets.downloads URL FOLDER")
    try:
        print(download_url(argv[1], argv[2]))
    except ValueError as error:
        sys.exit(f"datasets.downloads: {error}")


if __name__ == "__main__":
    logging.use_absl_handler()
    main(sys.argv)
