"""What made each processed image: its source file and the preprocessing settings.

A conversion appends one JSON line per image it writes to `conversion_records.jsonl` in the
processed folder, right after the image is renamed into place:

    {"image": "train/3/10_left.jpeg", "record": {"source": "train/10_left.jpeg", "size": 2841190,
     "mtime_ns": 1700000000000000000, "settings": {"crop_threshold": 10, "image_size": 299}}}

A line may also carry the photo's gradability measures (`"quality": {...}`, fundus.quality),
so that a resumed conversion still knows them for the images it keeps. The last line of an image wins, and a line cut short by a kill is ignored (its image is then
made again). An image is current when it exists and its record equals the one the running
conversion would write; any other image (source replaced, other settings, never recorded) is
made again. `save` rewrites the file with one line per image still on disk.
"""
import json
import os

from utils import atomic_files

RECORDS_FILENAME = "conversion_records.jsonl"


def canonical_json(value):
    """Returns `value` as compact JSON with sorted keys: equal settings give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def image_record(source, source_root, settings):
    """Returns the record of an image made from `source` with `settings` (a dict of preprocessing options).

    The source is named relative to `source_root` and identified by its size and modification
    time, so the record survives moving the whole dataset folder (`mv`, `cp -a`) and changes
    when the file is replaced.
    """
    status = os.stat(source)
    return {"source": os.path.relpath(source, source_root), "size": status.st_size,
            "mtime_ns": status.st_mtime_ns, "settings": dict(settings)}


class ConversionRecords:
    """The records of the images in one processed folder."""

    def __init__(self, processed_dir):
        self._processed_dir = processed_dir
        self._path = os.path.join(processed_dir, RECORDS_FILENAME)
        self._records, self._qualities = self._load()

    def _load(self):
        records, qualities = {}, {}
        if not os.path.exists(self._path):
            return records, qualities
        with open(self._path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    records[entry["image"]] = entry["record"]
                    qualities[entry["image"]] = entry.get("quality")
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
        return records, qualities

    def _key(self, image_path):
        return os.path.relpath(image_path, self._processed_dir)

    def is_current(self, image_path, record):
        """Returns whether `image_path` exists and was made as `record` says it would be now."""
        return os.path.exists(image_path) and self._records.get(self._key(image_path)) == record

    def quality(self, image_path):
        """Returns the gradability measures recorded with `image_path` (a dict), or None."""
        return self._qualities.get(self._key(image_path))

    def add(self, image_path, record, quality=None):
        """Records that `image_path` was just made as `record` says, with its `quality` dict (appended at once)."""
        key = self._key(image_path)
        self._records[key] = record
        self._qualities[key] = quality
        os.makedirs(self._processed_dir, exist_ok=True)
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(self._line(key) + "\n")

    def _line(self, key):
        entry = {"image": key, "record": self._records[key]}
        if self._qualities.get(key) is not None:
            entry["quality"] = self._qualities[key]
        return canonical_json(entry)

    def save(self):
        """Rewrites the file atomically with one line per recorded image that still exists."""
        present = {key: record for key, record in sorted(self._records.items())
                   if os.path.exists(os.path.join(self._processed_dir, key))}
        self._records = present
        os.makedirs(self._processed_dir, exist_ok=True)
        with atomic_files.open_atomically(self._path, encoding="utf-8") as handle:
            handle.writelines(self._line(key) + "\n" for key in present)
