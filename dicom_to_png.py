"""Finds the label field in DICOM studies and exports their pixels as PNG for training.

  python dicom_to_png.py --dump FILE
  python dicom_to_png.py --input_dir IN --count_tag TAG
  python dicom_to_png.py --input_dir IN --output_dir OUT [--bit_depth 8|16]
      [--label_tag TAG [--min_label_count N | --label_map FILE]]

TAG is a keyword (`Modality`) or a `gggg,eeee` pair. Exit status: 0 success, 1 when a file failed
(after finishing the others), 2 for usage errors.
"""
import logging
import os
import sys

from absl import app, flags

from dicom_tools import census, export, header, labels, reading
from utils import flag_checks
from utils.progress import ProgressLog

flags.DEFINE_string("dump", None, "Print the header of this DICOM file (pixels are not decoded).")
flags.DEFINE_string("input_dir", None, "Folder of DICOM files, read recursively.")
flags.DEFINE_string("count_tag", None, "Count this tag's values across --input_dir.")
flags.DEFINE_string("output_dir", None, "Export every image under --input_dir as PNG here.")
flags.DEFINE_enum("bit_depth", "8", ["8", "16"], "Bits per PNG sample.")
flags.DEFINE_string("label_tag", None, "With export: write OUT/labels.csv (image,label) from this tag.")
flags.DEFINE_integer("min_label_count", 1, "Keep label values held by at least this many files.", lower_bound=1)
flags.DEFINE_string("label_map", None, "CSV `value,label` mapping raw tag values to class names; "
                    "values not in it are dropped.")
FLAGS = flags.FLAGS

USAGE_EXIT_CODE = 2


def _usage_error(message):
    print(f"usage error: {message}\n{__doc__}", file=sys.stderr)
    return USAGE_EXIT_CODE


def _parse_flags(argv):
    """absl's own parser exits with 1 on a bad flag; usage errors here exit with 2."""
    try:
        return FLAGS(argv)
    except flags.Error as error:
        sys.exit(_usage_error(str(error)))


def dump(path):
    try:
        dataset = reading.read_dicom(path)
    except reading.DicomError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    for line in header.header_lines(dataset):
        print(line)
    return 0


def count(input_dir, tag):
    paths = [os.path.join(input_dir, relative) for relative in export.find_files(input_dir)]
    result = census.count_tag(paths, tag, ProgressLog(len(paths), "files"))
    for line in result.report_lines():
        print(line)
    return 0


def export_and_label(input_dir, output_dir, bit_depth, label_tag, min_label_count, label_map):
    relative_paths = export.find_files(input_dir, exclude_dir=output_dir)
    result = export.export_files(input_dir, relative_paths, output_dir, bit_depth, label_tag,
                                 ProgressLog(len(relative_paths), "files"))
    if label_tag is not None:
        kept, dropped = labels.choose_labels(result.label_values, min_label_count, label_map)
        rows = [(png_path, kept[dicom_path]) for dicom_path in sorted(kept)
                for png_path in result.pngs[dicom_path]]
        path = labels.write_labels_csv(rows, output_dir)
        print(f"wrote {path}: {len(rows)} images, {len(set(kept.values()))} labels")
        if dropped:
            print(labels.dropped_report(dropped))
    print(result.summary())
    return 1 if result.failed else 0


def main(argv):
    # pydicom logs each failed decoder with a traceback; the one-line reasons already carry its message.
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)
    if len(argv) > 1:
        return _usage_error(f"unexpected arguments {' '.join(argv[1:])}")
    if FLAGS.dump:
        return dump(FLAGS.dump)
    if not FLAGS.input_dir or bool(FLAGS.count_tag) == bool(FLAGS.output_dir):
        return _usage_error("give --dump FILE, or --input_dir with either --count_tag or --output_dir")
    if not os.path.isdir(FLAGS.input_dir):
        return _usage_error(f"--input_dir {FLAGS.input_dir} is not a folder")
    if (FLAGS.label_map or FLAGS["min_label_count"].present) and not FLAGS.label_tag:
        return _usage_error("--min_label_count and --label_map need --label_tag")
    if FLAGS.label_map and FLAGS["min_label_count"].present:
        return _usage_error("give --min_label_count or --label_map, not both")
    tag_text = FLAGS.count_tag or FLAGS.label_tag
    try:
        tag = header.parse_tag(tag_text) if tag_text else None
        label_map = labels.read_label_map(FLAGS.label_map) if FLAGS.label_map else None
        flag_checks.writable_directory(FLAGS, "output_dir")
    except (ValueError, OSError) as error:
        return _usage_error(str(error))
    if FLAGS.count_tag:
        return count(FLAGS.input_dir, tag)
    return export_and_label(FLAGS.input_dir, FLAGS.output_dir, int(FLAGS.bit_depth), tag,
                            FLAGS.min_label_count, label_map)


if __name__ == "__main__":
    app.run(main, flags_parser=_parse_flags)
