"""Checking TFRecord shards before use (cheap) and record by record (`verify`).

A TFRecord file is a chain of frames: 8-byte length, 4-byte length checksum, the
data, 4-byte data checksum. `count_records` walks the lengths without reading
the data, so a truncated shard, or a file that is not TFRecords at all, is found
and named before any graph runs. `verify` reads and checksums every record.
"""
import glob
import json
import os
import struct

from absl import logging
from google.protobuf.message import DecodeError

from slim_compat import tf
from tensorflow.python.lib.io import tf_record  # after slim_compat, which imports TensorFlow quietly

# The example feature holding the preprocessing settings (JSON) an image was converted with.
CONVERSION_FEATURE = "image/conversion"
FRAME_HEADER_BYTES = 12
FRAME_FOOTER_BYTES = 4


def count_records(path):
    """Returns the number of records in a shard, from its frame lengths.

    Raises:
      ValueError: naming the shard, when a frame runs past the end of the file.
    """
    size = os.path.getsize(path)
    offset = count = 0
    with open(path, "rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(FRAME_HEADER_BYTES)
            length = struct.unpack("<Q", header[:8])[0] if len(header) == FRAME_HEADER_BYTES else None
            if length is None or offset + FRAME_HEADER_BYTES + length + FRAME_FOOTER_BYTES > size:
                raise ValueError(f"{path}: truncated or not a TFRecord file (record {count + 1} at byte {offset} "
                                 f"runs past the end, {size} bytes); convert the dataset again")
            offset += FRAME_HEADER_BYTES + length + FRAME_FOOTER_BYTES
            count += 1
    return count


def records(path):
    """Yields the serialized records of a shard in order, checking every checksum.

    tf.io.tf_record_iterator's reader without its deprecation notice (its stand-in,
    tf.data, needs a session per shard in graph mode and is ten times slower).

    Raises:
      tf.errors.DataLossError: at the first truncated or corrupt record.
    """
    reader = tf_record.tf_record_random_reader(path)
    offset = 0
    while True:
        try:
            record, offset = reader.read(offset)
        except IndexError:  # the end of the file
            return
        yield record


def _examples(path):
    """Yields the tf.train.Examples of a shard, checking every checksum.

    Raises:
      ValueError: naming the shard and the record, when one is corrupt or not an Example.
    """
    index = 0
    try:
        for index, record in enumerate(records(path), start=1):
            yield tf.train.Example.FromString(record)
    except tf.errors.DataLossError as error:
        raise ValueError(f"{path}: corrupt after record {index} ({error.message.splitlines()[0]}); "
                         "convert the dataset again") from error
    except DecodeError as error:
        raise ValueError(f"{path}: record {index} is not a TF-Example; convert the dataset again") from error


def conversion_of(example):
    """Returns the preprocessing settings an Example records (`image/conversion`), or None."""
    values = example.features.feature[CONVERSION_FEATURE].bytes_list.value
    return json.loads(values[0]) if values else None


def describe_settings(settings):
    """Returns e.g. `crop_threshold=10, image_size=299`, or `no recorded settings`."""
    if settings is None:
        return "no recorded settings"
    return ", ".join(f"{key}={value}" for key, value in sorted(settings.items()))


def check_shards(files, expected_count=None, sizes_file=None):
    """Checks a split's shards: every frame in its file, one set of settings, the recorded count.

    Reads the frame lengths of every shard and the first record of each.

    Args:
      files: the split's shard paths.
      expected_count: the number of examples `sizes_file` records for the split, or None.
      sizes_file: the split_sizes.txt path, for the message.

    Returns:
      The settings (dict) the split's images were converted with, or None when not recorded.

    Raises:
      ValueError: one line naming the shard that is truncated, corrupt, or converted with other
        settings than the first, or the count that differs.
    """
    settings = {}
    total = 0
    for path in files:
        count = count_records(path)
        total += count
        if count:
            settings[path] = conversion_of(next(_examples(path)))
    distinct = {json.dumps(value, sort_keys=True): path for path, value in settings.items()}
    if len(distinct) > 1:
        (_, first), (_, other) = list(distinct.items())[:2]
        raise ValueError(f"{other}: converted with {describe_settings(settings[other])} but "
                         f"{os.path.basename(first)} with {describe_settings(settings[first])}; records of "
                         "different sizes or preprocessing cannot be mixed: convert the dataset again into one folder")
    if expected_count is not None and total != expected_count:
        raise ValueError(f"{sizes_file}: records {expected_count} examples but the shards hold {total} "
                         f"({os.path.dirname(files[0])}); convert the dataset again")
    return next(iter(settings.values()), None)


def verify(files):
    """Reads every record of `files`, checking checksums and that each is an Example with an image.

    Returns:
      ({shard path: number of examples} of the good shards, {shard path: problem} of the bad ones).
    """
    good, bad = {}, {}
    for path in files:
        try:
            count_records(path)
            count = 0
            for count, example in enumerate(_examples(path), start=1):
                if not example.features.feature["image/encoded"].bytes_list.value:
                    raise ValueError(f"{path}: record {count} has no image/encoded")
            good[path] = count
        except ValueError as error:
            bad[path] = str(error)
    return good, bad


def find_damage(files):
    """Returns a one-line description of the first bad shard among `files`, or None when all read fine."""
    _, bad = verify(files)
    return next(iter(bad.values()), None)


def damage_message(files, error):
    """Returns the one-line message for a DataLossError met while reading `files`, naming the bad shard."""
    return find_damage(files) or (f"{os.path.dirname(files[0]) if files else 'TFRecords'}: a record could not be "
                                  f"read ({error.message.splitlines()[0]}); check the shards with "
                                  "download_and_convert_data.py --verify")


def verify_folder(folder):
    """Reads every record of every `*.tfrecord` in `folder` (or in its `tfrecords` subfolder), logging each bad shard.

    Returns:
      The exit status: 0 when every shard reads, 1 when one is bad or there is none.
    """
    subfolder = os.path.join(folder, "tfrecords")
    if os.path.isdir(subfolder):
        folder = subfolder
    files = sorted(glob.glob(os.path.join(folder, "*.tfrecord")))
    if not files:
        logging.error("%s: no .tfrecord files to verify", folder)
        return 1
    good, bad = verify(files)
    for problem in bad.values():
        logging.error("%s", problem)
    logging.info("verified %d shards in %s: %d records in %d good shards, %d bad", len(files), folder,
                 sum(good.values()), len(good), len(bad))
    return 1 if bad else 0
