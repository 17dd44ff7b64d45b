"""One rule for a labels file that lists an image more than once, shared by the converters that read one.

An image listed again with the same label is converted once (a warning); an image listed with
different labels is converted with none of them (an error): which one is right is for a person to say.
"""
from collections import namedtuple

Row = namedtuple("Row", "line image label")


def and_list(items):
    """Returns `items` as words: `a`, `a and b`, `a, b and c`."""
    items = [str(item) for item in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


class Repeat(namedtuple("Repeat", "image lines labels")):
    """An image listed on several `lines`, with its distinct `labels` in the order first seen."""

    @property
    def conflicting(self):
        """Whether the rows disagree: then none of them is converted."""
        return len(self.labels) > 1

    def where(self, path):
        """Returns `PATH lines 2 and 30`."""
        return f"{path} lines {and_list(self.lines)}"

    def problem(self, kind):
        """Returns the one-line problem, the labels called `kind` (e.g. `grade`)."""
        if self.conflicting:
            neither = "neither" if len(self.lines) == 2 else "none"
            return (f"image {self.image!r} is listed with {kind}s {and_list(map(repr, self.labels))}; "
                    f"{neither} is converted")
        times = "twice" if len(self.lines) == 2 else f"{len(self.lines)} times"
        return f"image {self.image!r} is listed {times} with the same {kind} {self.labels[0]!r}; converted once"


def without_repeats(rows):
    """Applies the module's rule to `rows` ([Row] in file order).

    Returns:
      (the first Row of each image whose rows all agree, in file order; [Repeat] of the images listed
      more than once).
    """
    by_image = {}
    for row in rows:
        by_image.setdefault(row.image, []).append(row)
    kept, repeats = [], []
    for image, listed in by_image.items():
        labels = list(dict.fromkeys(row.label for row in listed))
        if len(listed) > 1:
            repeats.append(Repeat(image, [row.line for row in listed], labels))
        if len(labels) == 1:
            kept.append(listed[0])
    return kept, repeats
