"""Atomic outputs: written under the temporary name, renamed when complete, nothing left on failure."""
import os

import pytest

from utils import atomic_files


def test_open_atomically_writes_under_the_temporary_name_then_renames(tmp_path):
    path = str(tmp_path / "out" / "labels.txt")
    with atomic_files.open_atomically(path) as handle:
        handle.write("0:0\n")
        assert os.path.exists(atomic_files.temporary_path(path))
        assert not os.path.exists(path)
    assert open(path).read() == "0:0\n"
    assert os.listdir(tmp_path / "out") == ["labels.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "report.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_files.open_atomically(str(path)) as handle:
            handle.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["report.txt"]


def test_atomic_path_renames_a_folder_written_at_the_temporary_path(tmp_path):
    export_dir = str(tmp_path / "export" / "1") + os.sep
    with atomic_files.atomic_path(export_dir) as temporary:
        os.makedirs(os.path.join(temporary, "variables"))
    assert os.path.isdir(os.path.join(export_dir, "variables"))
    assert os.listdir(tmp_path / "export") == ["1"]


def test_a_failed_folder_write_is_removed(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_path(str(tmp_path / "model")) as temporary:
            os.makedirs(os.path.join(temporary, "variables"))
            raise RuntimeError("save failed")
    assert os.listdir(tmp_path) == []


def test_a_killed_runs_leftover_folder_is_replaced(tmp_path):
    target = str(tmp_path / "model")
    os.makedirs(os.path.join(atomic_files.temporary_path(target), "stale"))
    with atomic_files.atomic_path(target) as temporary:
        assert not os.path.exists(temporary)
        os.makedirs(os.path.join(temporary, "variables"))
    assert os.listdir(target) == ["variables"]
    assert os.listdir(tmp_path) == ["model"]


def test_is_temporary_names_the_files_listings_skip():
    assert atomic_files.is_temporary(os.path.basename(atomic_files.temporary_path("train/10_left.jpeg")))
    assert not atomic_files.is_temporary("10_left.jpeg")
