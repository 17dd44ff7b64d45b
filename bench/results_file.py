"""A bench's own section of a results page (docs/results.md), rewritten with its date, commit and command line.

A bench given `--results_file docs/results.md` prints as before and, when it ends without error, replaces the
text between its markers (`<!-- SECTION begin -->` and `<!-- SECTION end -->`) with the date, the commit
(`git rev-parse --short HEAD`), its exact command line and what it printed; the rest of the page is left as it
is. A page without the markers gets the section appended at its end. The page is written atomically.
Import it after the bench has put the repository on sys.path.
"""
import contextlib
import datetime
import io
import os
import re
import shlex
import subprocess
import sys

from absl import flags

from utils import atomic_files

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELP = ("Markdown page whose section of this bench (between its <!-- begin/end --> markers) is rewritten with "
        "the date, commit, command line and output, e.g. docs/results.md")


def define_flag():
    """Defines an absl bench's --results_file."""
    flags.DEFINE_string("results_file", None, HELP)


def markers(section):
    return f"<!-- {section} begin -->", f"<!-- {section} end -->"


def replace_section(text, section, body):
    """Returns `text` with `section`'s markers enclosing `body`, appended when it has no such markers."""
    begin, end = markers(section)
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"


def write_section(path, section, body):
    """Rewrites `section` of the page at `path` (created when missing) with `body`, atomically."""
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    with atomic_files.open_atomically(path, encoding="utf-8") as handle:
        handle.write(replace_section(text, section, body))


def commit():
    """The checkout's short commit, or 'unknown' outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line(argv):
    """`python SCRIPT ARGS` with the script's path relative to the repository, as a reader would type it."""
    script = os.path.relpath(os.path.abspath(argv[0]), REPO_ROOT)
    return "python " + shlex.join([script] + list(argv[1:]))


def stamped(output, argv, today=None):
    """The section's body: date, commit and command line, then the bench's output as a text block."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return f"{today}, commit {commit()}: `{command_line(argv)}`\n\n```text\n{output.strip()}\n```"


class _Tee(io.TextIOBase):
    """Writes to the real stdout and keeps a copy."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@contextlib.contextmanager
def recording(path, section):
    """Records what the block prints into `section` of `path` when it ends without error; nothing without a path.

    The page's folder is checked first, so that a long bench does not fail at its end.
    """
    if not path:
        yield
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        sys.exit(f"{os.path.basename(sys.argv[0])}: --results_file={path}: folder {folder} does not exist")
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    write_section(path, section, stamped(tee.copy.getvalue(), sys.argv))
    print(f"results written to {path}, section {section}")


def recorded(main, section):
    """`main` of an absl bench, recording into --results_file (define_flag) when it is given."""
    def run(argv):
        with recording(flags.FLAGS.results_file, section):
            return main(argv)
    return run
