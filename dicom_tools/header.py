"""Header dump and tag lookup: `Modality` or `0008,0060` names a tag, values come back as text."""
import re

from pydicom import datadict
from pydicom.multival import MultiValue
from pydicom.tag import Tag

_HEX_TAG = re.compile(r"^\(?\s*([0-9a-fA-F]{4})\s*,?\s*([0-9a-fA-F]{4})\s*\)?$")


def parse_tag(text):
    """Returns the pydicom Tag for a keyword (`PatientName`) or a hex pair (`0010,0010`, `(0010,0010)`).

    Raises:
      ValueError: neither a known keyword nor a `gggg,eeee` pair.
    """
    match = _HEX_TAG.match(text.strip())
    if match:
        return Tag(int(match.group(1), 16), int(match.group(2), 16))
    tag = datadict.tag_for_keyword(text.strip())
    if tag is None:
        raise ValueError(f"unknown tag {text!r}: give a DICOM keyword such as Modality or a pair such as 0008,0060")
    return Tag(tag)


def tag_name(tag):
    """Returns `(gggg,eeee) Keyword` for messages."""
    return f"{tag} {datadict.keyword_for_tag(tag) or 'private/unknown'}"


def value_as_text(dataset, tag):
    """Returns the value of `tag` in `dataset` as text (multiple values joined by backslash), None if absent."""
    if tag not in dataset:
        return None
    value = dataset[tag].value
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(item) for item in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def header_lines(dataset):
    """Yields `(gggg,eeee) Keyword VR value` lines for the file meta and the data set, sequences indented.

    Long and binary values are abbreviated as pydicom does (e.g. `Array of 8192 elements`); text is
    decoded with the file's Specific Character Set.
    """
    yield from _element_lines(dataset.file_meta, "")
    yield from _element_lines(dataset, "")


def _element_lines(dataset, indent):
    for element in dataset:
        keyword = element.keyword or ("private" if element.tag.is_private else "unknown")
        if element.VR == "SQ":
            yield f"{indent}{element.tag} {keyword} SQ {len(element.value)} item(s)"
            for number, item in enumerate(element.value, start=1):
                yield f"{indent}  item {number}"
                yield from _element_lines(item, indent + "    ")
        else:
            yield f"{indent}{element.tag} {keyword} {element.VR} {element.repval}"
