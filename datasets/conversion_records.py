"""What made each processed image: its source file and the preprocessing settings.

A conversion appends one JSON line per image it writes to `conversion_records.jsonl` in the
processed folder, right after the image is renamed into place:

    {"image": "train/3/10_left.jpeg", "record": {"source": "train/10_left.jpeg", "size": 2841190,
     "mtime_ns": 1700000000000000000, "settings": {"crop_threshold": 10, "image_size": 299}}}

The last line of an image wins, and a line cut short by a kill is ignored (its image is then
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
        self._records = self._load()

    def _load(self):
        records = {}
        if not os.path.exists(self._path):
            return records
        with open(self._path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    records[entry["image"]] = entry["record"]
                except (ValueError, KeyError, TypeError):
                    continue
        return records

    def _key(self, image_path):
        return os.path.relpath(image_path, self._processed_dir)

    def is_current(self, image_path, record):
        """Returns whether `image_path` exists and was made as `record` says it would be now."""
        return os.path.exists(image_path) and self._records.get(self._key(image_path)) == record

    def add(self, image_path, record):
        """Records that `image_path` was just made as `record` says (appended at once)."""
        key = self._key(image_path)
        self._records[key] = record
        os.makedirs(self._processed_dir, exist_ok=True)
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(canonical_json({"image": key, "record": record}) + "\n")

    def save(self):
        """Rewrites the file atomically with one line per recorded image that still exists."""
        present = {key: record for key, record in sorted(self._records.items())
                   if os.path.exists(os.path.join(self._processed_dir, key))}
        self._records = present
        os.makedirs(self._processed_dir, exist_ok=True)
        with atomic_files.open_atomically(self._path, encoding="utf-8") as handle:
            handle.writelines(canonical_json({"image": key, "record": record}) + "\n"
                              for key, record in present.items())
