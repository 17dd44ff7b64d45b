"""One writer per output folder: an advisory lock held for a run, in a file that names its holder.

Two trainers on one train dir would append to one events file (which then fails to read back)
and rotate each other's checkpoints away. The lock is an flock on `FOLDER/.writer.lock`: the
operating system releases it when the holder exits in any way, so a lock left by a killed process
is taken over (saying so), never waited for. The file names the holder (process id, host, script,
start time) and is removed when the holder finishes, so a finished run leaves no lock file.
"""
import contextlib
import fcntl
import json
import os
import socket
import sys
import time

from absl import logging

LOCK_FILENAME = ".writer.lock"


def _describe(holder):
    return (f"process {holder.get('pid')} on {holder.get('host')} ({holder.get('script')}, "
            f"started {holder.get('started')})")


def _read_holder(handle):
    handle.seek(0)
    try:
        return json.loads(handle.read() or "null")
    except ValueError:
        return None


def _this_process():
    return {"pid": os.getpid(), "host": socket.gethostname(), "script": os.path.basename(sys.argv[0]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S")}


def _write_holder(handle, holder):
    handle.seek(0)
    handle.truncate()
    json.dump(holder, handle)
    handle.flush()


def _locked_handle(path):
    """Opens and flocks `path`, retrying when a releasing holder unlinked it meanwhile.

    Raises:
      BlockingIOError: a live process holds it; the handle is closed.
    """
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            handle.close()
            raise
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()


def _holder_of(path):
    try:
        with open(path) as handle:
            return _read_holder(handle)
    except OSError:
        return None


@contextlib.contextmanager
def sole_writer(folder, flag_name):
    """Holds `folder`'s writer lock for the block, creating the folder if needed; removes the lock file after.

    Args:
      folder: a local folder; URLs (gs://...) are not locked.
      flag_name: the flag that named it, for the message.

    Raises:
      ValueError: another live process holds the lock; names it.
    """
    if "://" in folder:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_FILENAME)
    try:
        handle = _locked_handle(path)
    except BlockingIOError:
        holder = _holder_of(path)
        raise ValueError(f"--{flag_name}={folder}: in use by {_describe(holder) if holder else 'another process'}"
                         "; wait for it to finish, or write to another folder") from None
    except OSError as error:  # a file system without locks, e.g. some network mounts
        logging.warning("%s: cannot be locked (%s); make sure no other process writes there", folder, error.strerror)
        yield
        return
    with handle:
        previous = _read_holder(handle)
        if previous:
            logging.warning("%s: taking over the lock of %s, which is no longer running", folder, _describe(previous))
        _write_holder(handle, _this_process())
        try:
            yield
        finally:
            os.remove(path)
