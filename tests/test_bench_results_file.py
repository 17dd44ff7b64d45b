"""A bench's --results_file rewrites only its own section of the page, atomically, with date, commit, command."""
import datetime
import os
import subprocess
import sys

import pytest

from bench import results_file
from tests.model_helpers import run_script

PAGE = """# Measured results

Written by hand.

<!-- bench_preprocess begin -->
2026-11-26, commit 6f3dc4b: `python bench/bench_preprocess.py --num_images=24`

naive 2.44 images/s
<!-- bench_preprocess end -->

What it shows, by hand.

<!-- bench_tflite begin -->
| model | MB |
|---|---|
| TFLite int8 | 22.4 |
<!-- bench_tflite end -->
"""


def sections(text):
    """The page split at its markers: the bench_preprocess section and everything around it."""
    begin, end = results_file.markers("bench_preprocess")
    before, rest = text.split(begin + "\n")
    inside, after = rest.split("\n" + end)
    return before, inside, after


def test_recording_replaces_only_its_own_section_with_date_commit_command_and_output(tmp_path, monkeypatch):
    page = tmp_path / "results.md"
    page.write_text(PAGE)
    monkeypatch.setattr(sys, "argv", [os.path.join(results_file.REPO_ROOT, "bench", "bench_preprocess.py"),
                                      "--num_images=2", "--results_file", str(page)])
    with results_file.recording(str(page), "bench_preprocess"):
        print("naive 3.00 images/s")
    before, inside, after = sections(page.read_text())
    old_before, _, old_after = sections(PAGE)
    assert (before, after) == (old_before, old_after)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=results_file.REPO_ROOT,
                            capture_output=True, text=True).stdout.strip()
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert inside == (f"{today}, commit {commit}: `python bench/bench_preprocess.py --num_images=2 --results_file "
                      f"{page}`\n\n```text\nnaive 3.00 images/s\n```")
    assert os.listdir(tmp_path) == ["results.md"]


def test_a_page_without_the_section_gets_it_appended_and_keeps_the_rest():
    text = results_file.replace_section("# Measured results\n\nby hand\n", "bench_gpu", "figures")
    assert text == "# Measured results\n\nby hand\n\n<!-- bench_gpu begin -->\nfigures\n<!-- bench_gpu end -->\n"
    assert results_file.replace_section(text, "bench_gpu", "new") == text.replace("figures", "new")


def test_a_bench_that_fails_leaves_the_page_as_it_was_and_no_temporary(tmp_path):
    page = tmp_path / "results.md"
    page.write_text(PAGE)
    with pytest.raises(RuntimeError):
        with results_file.recording(str(page), "bench_preprocess"):
            print("half a table")
            raise RuntimeError("killed")
    assert page.read_text() == PAGE
    assert os.listdir(tmp_path) == ["results.md"]


def test_a_failed_write_leaves_the_old_page_and_no_temporary(tmp_path, monkeypatch):
    page = tmp_path / "results.md"
    page.write_text(PAGE)

    def interrupted(text, section, body):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_file, "replace_section", interrupted)
    with pytest.raises(KeyboardInterrupt):
        results_file.write_section(str(page), "bench_preprocess", "new figures")
    assert page.read_text() == PAGE
    assert os.listdir(tmp_path) == ["results.md"]


def test_a_page_in_a_missing_folder_is_refused_before_the_bench_runs(tmp_path):
    ran = []
    with pytest.raises(SystemExit) as stop:
        with results_file.recording(str(tmp_path / "missing" / "results.md"), "bench_preprocess"):
            ran.append(True)
    assert not ran
    assert f"--results_file={tmp_path / 'missing' / 'results.md'}: folder" in str(stop.value)


@pytest.mark.slow  # runs a bench script end to end
def test_bench_preprocess_rewrites_its_section_of_the_page(tmp_path):
    page = tmp_path / "results.md"
    page.write_text(PAGE)
    result = run_script("bench/bench_preprocess.py", "--num_images=2", "--min_width=600", "--max_width=800",
                        f"--work_dir={tmp_path / 'work'}", f"--results_file={page}")
    assert result.returncode == 0, result.stderr[-3000:]
    before, inside, after = sections(page.read_text())
    old_before, _, old_after = sections(PAGE)
    assert (before, after) == (old_before, old_after)
    assert "`python bench/bench_preprocess.py --num_images=2 --min_width=600 --max_width=800" in inside
    assert "2 photographs, mean 0.4 megapixels" in inside
    assert "project, --crop_mode=disc" in inside
