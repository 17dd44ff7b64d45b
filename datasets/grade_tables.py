"""Reading the label tables of the DR datasets: a bad row is one report line, and the rest is read.

Tables are CSV files read by column name (`read_csv`) or lists of fields separated by white space
or a delimiter, without a header (`read_list`). Values are checked by `check_name` and
`integer_in`; an image listed more than once follows datasets.label_rows (`unique_rows`).
"""
import csv
import os

from datasets import label_rows

# The ICDR grades every DR dataset here uses: 0 No DR, 1 Mild, 2 Moderate, 3 Severe, 4 Proliferative DR.
GRADES = range(5)


def _missing(path, description):
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such labels file ({description})")


def read_csv(path, columns, report, description, delimiter=","):
    """Yields (where, line number, [the row's values of `columns`]) for each well-formed row of a CSV file.

    Header names and values are compared stripped (IDRiD's `Risk of macular edema ` ends in a space);
    empty fields beyond the header's last name are padding and ignored. A row with another number of
    fields is reported as an error and skipped; empty rows are skipped.

    Args:
      path: the CSV file.
      columns: the column names wanted, in the order their values are yielded.
      report: a fundus_conversion.Report.
      description: what the file is, for the message when it is missing (e.g. `Kaggle's trainLabels.csv`).
      delimiter: the field separator.

    Raises:
      ValueError: the file is missing, or its header lacks one of `columns`.
    """
    _missing(path, description)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = _without_padding([field.strip() for field in next(reader, [])])
        if not set(columns) <= set(header):
            raise ValueError(f"{path}: header is {delimiter.join(header)!r}, expected {delimiter.join(columns)!r}")
        indices = [header.index(column) for column in columns]
        for row in reader:
            fields = _without_padding([field.strip() for field in row])
            if not fields:
                continue
            where = f"{path} line {reader.line_num}"
            if len(fields) != len(header):
                report.error(where, f"expected {len(header)} fields {delimiter.join(header)!r}, got {len(fields)}")
                continue
            yield where, reader.line_num, [fields[index] for index in indices]


def _without_padding(fields):
    """`fields` without the empty ones at the end."""
    while fields and not fields[-1]:
        fields = fields[:-1]
    return fields


def read_list(path, fields, report, description, delimiter=None):
    """Yields (where, line number, [values]) for each line of a header-less list of `fields` (their names).

    Values are separated by `delimiter`, or white space when None; a line with another number of
    values is reported as an error and skipped; empty lines are skipped.

    Raises:
      ValueError: the file is missing.
    """
    _missing(path, description)
    separator = delimiter or " "
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            values = [value.strip() for value in line.split(delimiter)]
            if not any(values):
                continue
            where = f"{path} line {number}"
            if len(values) != len(fields):
                report.error(where, f"expected {len(fields)} fields {separator.join(fields)!r}, got {len(values)}")
                continue
            yield where, number, values


def check_name(name):
    """Returns the problem of an image name that is not a plain file name, else None."""
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        return f"image name {name!r} is not a plain file name"
    return None


def integer_in(value, column, values, meaning):
    """Returns `value` as an int when it spells one of `values`.

    Raises:
      ValueError: `{column} {value!r} is not {meaning}`, e.g. `level '7' is not a grade 0-4`.
    """
    if value not in {str(allowed) for allowed in values}:
        raise ValueError(f"{column} {value!r} is not {meaning}")
    return int(value)


def grade(value, column):
    """Returns `value` as an ICDR grade (GRADES); raises ValueError `{column} {value!r} is not a grade 0-4`."""
    return integer_in(value, column, GRADES, f"a grade {GRADES[0]}-{GRADES[-1]}")


def flag(value, column):
    """Returns `value` as 0 or 1; raises ValueError `{column} {value!r} is not 0 or 1`."""
    return integer_in(value, column, (0, 1), "0 or 1")


def unique_rows(rows, path, report, kind):
    """Applies datasets.label_rows' rule to `rows` ([label_rows.Row]) of the table at `path`.

    An image listed twice with one label is kept once (a warning); with two labels (`kind`, e.g.
    `grade`), neither row is kept (an error naming both) and the image is added to `report.refused`.

    Returns:
      The rows kept, in file order.
    """
    kept, repeats = label_rows.without_repeats(rows)
    for repeat in repeats:
        if repeat.conflicting:
            report.error(repeat.where(path), repeat.problem(kind))
            report.refused.add(repeat.image)
        else:
            report.warning(repeat.where(path), repeat.problem(kind))
    return kept
