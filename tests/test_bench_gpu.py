"""bench/bench_gpu.py end to end in its reduced CPU mode: sample, conversion, synthetic and real inputs, table."""
import re

import pytest

from tests.model_helpers import run_script

pytestmark = pytest.mark.slow  # runs the bench script end to end


def test_smoke_run_trains_on_synthetic_and_real_inputs_and_prints_the_ratio():
    # One case keeps the test short; the mixed one (bfloat16 on a CPU) covers the most code.
    result = run_script("bench/bench_gpu.py", "--smoke", "--cases=mixed", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "inception_v3 training at 128x128, batch 2, on CPU only" in out
    losses = re.findall(r"mixed bfloat16, (synthetic|real): [\d.]+ images/s \(loss ([\d.]+)\)", out)
    assert [source for source, _ in losses] == ["synthetic", "real"]
    row = re.search(r"^\| mixed bfloat16 \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| - \|$", out, re.MULTILINE)
    synthetic, real, ratio = (float(value) for value in row.groups())
    assert synthetic > 0 and real > 0
    # The table rounds images/s and the ratio to 0.01.
    assert (real - 0.005) / (synthetic + 0.005) - 0.005 <= ratio <= (real + 0.005) / (synthetic - 0.005) + 0.005
    assert "largest batch" not in out  # no GPU, so no search


def test_unknown_case_is_a_one_line_error():
    result = run_script("bench/bench_gpu.py", "--smoke", "--cases=float32,fp8")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        "bench_gpu.py: unknown --cases fp8; use float32, mixed, mixed_xla"
