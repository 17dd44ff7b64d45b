"""Ctrl-C in a script: one line saying what is kept, exit status 130 (128 + SIGINT), no traceback."""
import os
import sys

EXIT_STATUS = 130


def stop(what_is_kept):
    """Ends the process after a KeyboardInterrupt with `SCRIPT: interrupted; WHAT_IS_KEPT`."""
    sys.stderr.write(f"{os.path.basename(sys.argv[0])}: interrupted; {what_is_kept}\n")
    sys.exit(EXIT_STATUS)
