"""Turns one tag's raw values into class labels: keep the frequent values or map raw values to classes.

The result is `labels.csv` (`image,label`), the input of the generic image-folder converter.
"""
import collections
import csv
import io
import os

from utils import atomic_files

LABELS_CSV = "labels.csv"


def read_label_map(path):
    """Reads a CSV with header `value,label` mapping raw tag values to class names.

    Raises:
      ValueError: the file lacks the `value` and `label` columns.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"value", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: a label map needs the header 'value,label'")
        return {row["value"]: row["label"] for row in reader}


def choose_labels(file_values, min_count=1, label_map=None):
    """Decides each file's class from its raw tag value.

    Args:
      file_values: {file key: raw value or None when the tag is missing}.
      min_count: keep values held by at least this many files (ignored with `label_map`).
      label_map: optional {raw value: class name}; values not in it are dropped.

    Returns:
      ({file key: class name} for the kept files, Counter of dropped raw values (None = missing)).
    """
    counts = collections.Counter(value for value in file_values.values() if value is not None)
    kept, dropped = {}, collections.Counter()
    for key, value in file_values.items():
        if value is None:
            dropped[None] += 1
        elif label_map is not None:
            if value in label_map:
                kept[key] = label_map[value]
            else:
                dropped[value] += 1
        elif counts[value] >= min_count:
            kept[key] = value
        else:
            dropped[value] += 1
    return kept, dropped


def dropped_report(dropped, shown=10):
    """Returns one line naming the dropped values (most common first), or '' when none were dropped."""
    if not dropped:
        return ""
    values = [f"{'(missing)' if value is None else repr(value)} x{count}"
              for value, count in dropped.most_common(shown)]
    more = f", and {len(dropped) - shown} more" if len(dropped) > shown else ""
    return (f"dropped {sum(dropped.values())} files with {len(dropped)} values not kept as labels: "
            f"{', '.join(values)}{more}")


def write_labels_csv(rows, output_dir):
    """Writes `output_dir/labels.csv` (`image,label`) atomically; returns its path."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["image", "label"])
    writer.writerows(rows)
    path = os.path.join(output_dir, LABELS_CSV)
    with atomic_files.open_atomically(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text.getvalue())
    return path
