"""bench/bench_bfloat16.py end to end at a tiny size: sample, conversion, a float32 and a bfloat16 run, table."""
import re

import pytest

from tests.model_helpers import run_script

pytestmark = pytest.mark.slow  # runs the bench script end to end


def test_tiny_run_trains_both_precisions_evaluates_them_and_prints_the_speed_ratio(tmp_path):
    result = run_script("bench/bench_bfloat16.py", "--steps=4", "--num_patients=8", "--validation_size=4",
                        "--batch_size=4", f"--output_dir={tmp_path}", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "4 steps of 4 images at 128px per run" in out
    for name in ("float32", "bfloat16"):
        assert re.search(rf"^{name} seed 1: sec/step [\d.]+, QWK -?[\d.]+, mean recall [\d.]+$", out, re.MULTILINE)
    rows = {name: (float(step), float(ratio)) for name, step, ratio in re.findall(
        r"^\| (float32|bfloat16) \| 1 \| ([\d.]+) \| -?[\d.]+ \| [\d.]+ \| ([\d.]+)x \|$", out, re.MULTILINE)}
    assert rows["float32"][1] == 1.0
    # The table rounds sec/step to 0.001 and the ratio to 0.01.
    assert rows["bfloat16"][1] == pytest.approx(rows["float32"][0] / rows["bfloat16"][0], abs=0.02)
