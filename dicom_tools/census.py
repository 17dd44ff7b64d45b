"""Counts one tag's values across a folder of DICOM files: the few clean values and the long tail."""
import collections

from dicom_tools import header, reading

MISSING = "(missing)"


class Census:
    """Value counts of one tag over DICOM files, plus the files without it and those unreadable."""

    def __init__(self, tag):
        self.tag = tag
        self.counts = collections.Counter()
        self.missing = 0
        self.unreadable = {}

    def add(self, value):
        """Counts one file's value; None means the file lacks the tag."""
        if value is None:
            self.missing += 1
        else:
            self.counts[value] += 1

    @property
    def files(self):
        """Files read as DICOM."""
        return sum(self.counts.values()) + self.missing

    def values_covering(self, share=0.99):
        """Returns how many of the most common values together hold `share` of the files that have the tag."""
        needed = share * sum(self.counts.values())
        covered = 0
        for number, (_, count) in enumerate(self.counts.most_common(), start=1):
            covered += count
            if covered >= needed:
                return number
        return 0

    def report_lines(self):
        """Yields the table (count, share, value; most common first) and the 99 % summary."""
        yield f"{header.tag_name(self.tag)} in {self.files} DICOM files"
        yield f"{'count':>8}  {'share':>6}  value"
        rows = [(repr(value), count) for value, count in self.counts.most_common()]
        if self.missing:
            rows.append((MISSING, self.missing))
        for value, count in rows:
            yield f"{count:8d}  {100.0 * count / self.files:5.1f}%  {value}"
        yield (f"{self.values_covering()} of {len(self.counts)} values cover 99% of the "
               f"{sum(self.counts.values())} files with the tag")
        if self.unreadable:
            yield f"{len(self.unreadable)} files could not be read as DICOM (not counted)"


def count_tag(paths, tag, progress=None):
    """Reads the header of each file in `paths` (no pixel data) and counts the values of `tag`.

    Args:
      paths: files to read.
      tag: a pydicom Tag.
      progress: optional object with `update(count)`, told after each file.

    Returns:
      A `Census`; files that are not DICOM are listed in `census.unreadable` with the reason.
    """
    census = Census(tag)
    for path in paths:
        try:
            census.add(header.value_as_text(reading.read_dicom(path, header_only=True), tag))
        except reading.DicomError as error:
            census.unreadable[path] = str(error)
        if progress is not None:
            progress.update(1)
    return census
