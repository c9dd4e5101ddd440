"""tools/benchmark.py runs both implementations side by side and writes its JSON (no timing asserted)."""
import json

import pytest

from conftest import run_script

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)


def test_benchmark_smoke_case(tmp_path):
    out = tmp_path / "bench.json"
    proc = run_script("tools/benchmark.py", "--cases", "smoke", "--repeat", "1", "--warmup", "0", "--out", out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    rows = {r["op"]: r for r in data["rows"]}
    for op in ("G forward (no grad)", "G forward+backward", "D forward+backward", "R1 step", "path-length step",
               "train iter (no reg)", "train iter (R1 amortised)", "train iter (R1+PL, ours)", "floor (plain convs)"):
        assert op in rows, op
    assert isinstance(rows["G forward (no grad)"]["ratio"], float) and rows["G forward (no grad)"]["ratio"] > 0
    assert isinstance(rows["path-length step"]["ours_s"], float)
    # ppgan's path-length step needs conv2d_transpose double grad, which Paddle CPU lacks
    assert str(rows["path-length step"]["ppgan_s"]).startswith("crash")
    assert isinstance(rows["train iter (R1+PL, ours)"]["ours_s"], float)
    assert "| case | op |" in proc.stdout
