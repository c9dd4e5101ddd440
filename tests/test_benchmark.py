"""tools/benchmark.py runs both implementations side by side under both settings (Paddle as installed, our
CLI's CPU runtime), each in a worker process, and writes its JSON and table (no timing asserted)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import DEMO, ROOT, pattern_images, run_script, tiny
from ppgan_stylegan.bench.demo_speed import compare
from ppgan_stylegan.bench.phases import profile_phases

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)


def test_benchmark_smoke_case(tmp_path):
    out = tmp_path / "bench.json"
    proc = run_script("tools/benchmark.py", "--cases", "smoke,load_smoke", "--repeat", "1", "--warmup", "1", "--out", out,
                      "--markdown", tmp_path / "bench.md")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    rows = {r["op"]: r for r in data["rows"]}
    for op in ("G forward (no grad)", "G forward+backward", "D forward+backward", "R1 step", "path-length step",
               "train iter (no reg)", "train iter (R1 amortised)", "train iter (R1+PL, ours)", "floor: G forward",
               "floor: G forward+backward", "floor: D forward+backward"):
        assert op in rows, op
    for setting in ("installed", "ours"):
        assert isinstance(rows["G forward (no grad)"][f"ppgan_{setting}_s"], float)
        assert isinstance(rows["G forward (no grad)"][f"ours_{setting}_s"], float)
        assert isinstance(rows["train iter (R1+PL, ours)"][f"ours_{setting}_s"], float)
        # ppgan's path-length step needs conv2d_transpose double grad, which Paddle CPU lacks
        assert str(rows["path-length step"][f"ppgan_{setting}_s"]).startswith("crash")
        assert data["settings"][setting]["sgemm_gflops"] > 0
    for floor in ("floor: G forward", "floor: G forward+backward", "floor: D forward+backward"):
        assert isinstance(rows[floor]["ours_ours_s"], float), rows[floor]  # runs again after a warm-up run
    assert "OMP_NUM_THREADS" in data["settings"]["ours"]["runtime"]
    assert "Paddle's defaults" in data["settings"]["installed"]["runtime"]
    assert rows["G forward (no grad)"]["gflop"] > 0 and rows["D forward+backward"]["gflop"] > 0
    assert rows["floor: D forward+backward"]["gflop"] == rows["D forward+backward"]["gflop"]
    assert "| case | op |" in proc.stdout and "over the plain convolutions" in proc.stdout
    for op in ("train iter (no reg)", "train iter (with R1)"):  # operator counts from Paddle's profiler
        assert rows[op]["ppgan_ops"] > 100 and rows[op]["ours_ops"] > 100, rows[op]
    assert rows["train iter (with R1)"]["ours_ops"] > rows["train iter (no reg)"]["ours_ops"]
    (load, *_) = [r for op, r in rows.items() if op.startswith("read a converted 8 px checkpoint")]
    assert all(isinstance(load[f"{impl}_{setting}_s"], float) for impl in ("ppgan", "ours")
               for setting in ("installed", "ours")), load
    md = (tmp_path / "bench.md").read_text()
    assert "Paddle" in md and "python tools/benchmark.py --cases smoke,load_smoke --repeat 1" in md


@pytest.mark.slow
def test_memory_benchmark_rows_run_in_fresh_processes(tmp_path):
    """bench/memory.py: one process per row; peak RSS above the after-build RSS; ppgan's row on a CPU records the
    missing double gradient it stops at; the activation bytes follow the layers' shapes."""
    from ppgan_stylegan.bench.memory import activation_bytes_per_image
    out = tmp_path / "memory.json"
    run = subprocess.run([sys.executable, "-m", "ppgan_stylegan.bench.memory", "--sizes", "8", "--out", str(out)],
                         capture_output=True, text=True, timeout=900, env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["impl"], r["batch_gpu"]) for r in rows] == [("ours", None), ("ours", 1), ("ppgan", None)]
    assert all(r["peak_mib"] > r["built_mib"] > 100 for r in rows)
    assert rows[0]["error"] is None and rows[1]["error"] is None
    assert "conv2d_transpose_double_grad" in rows[2]["error"]  # (Paddle's CPU build: ppgan's path length stops)
    assert activation_bytes_per_image(8) == {4: 4 * 16 * (515 + 1024), 8: 4 * 64 * (1027 + 1536)}


@pytest.mark.slow
def test_data_loading_benchmark_reads_every_format(tmp_path):
    """bench/data_loading.py: the same images as a folder, an NVlabs zip and an LMDB, read through the DataLoader
    with and without workers; a rate per row (none asserted)."""
    out = tmp_path / "loading.json"
    run = subprocess.run([sys.executable, "-m", "ppgan_stylegan.bench.data_loading", "--size", "16", "--images",
                          "48", "--workers", "0,1", "--out", str(out)], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["format"], r["workers"]) for r in rows] == [(f, w) for f in ("folder", "zip", "lmdb") for w in (0, 1)]
    assert all(r["images_per_s"] > 0 for r in rows)


@pytest.mark.slow
def test_deployment_benchmark_runs_each_runtime_on_the_same_images(tmp_path):
    """bench/deployment.py: eager, Paddle Inference (default CPU config) and, on Paddle 3, ONNX Runtime on the
    demo-sized generator; the runtimes agree within 1e-4 (no timing asserted)."""
    import paddle
    out = tmp_path / "deployment.json"
    run = subprocess.run([sys.executable, "-m", "ppgan_stylegan.bench.deployment", "--networks", "demo", "--repeat",
                          "2", "--out", str(out)], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    expected = ["eager Paddle", "Paddle Inference"] + (["ONNX Runtime"] if int(paddle.__version__[0]) >= 3 else [])
    assert [r["runtime"] for r in rows] == expected
    assert all(r["images_per_s"] > 0 and r["max_abs_diff_vs_eager"] < 1e-4 for r in rows)


def test_cpu_demo_benchmark_times_two_trees_in_turn_and_profiles_phases(tmp_path):
    """The ``cpu-demo`` comparison on the tiny demo config: a base commit checked out in a worktree (removed
    afterwards) and this tree, both timed round by round; and this tree's phases with their operators."""
    data = pattern_images(tmp_path / "data")
    row = compare(DEMO, "HEAD", data, rounds=2, iters=2, warmup=1, overrides=tiny())
    assert row["base_ms_per_iter"] > 0 and row["head_ms_per_iter"] > 0 and len(row["runs_ms"]["base"]) == 2
    assert row["head_over_base"] == pytest.approx(row["head_ms_per_iter"] / row["base_ms_per_iter"], rel=1e-2)
    worktrees = subprocess.run(["git", "-C", ROOT, "worktree", "list"], capture_output=True, text=True).stdout
    assert "demo-speed-" not in worktrees
    profile = profile_phases(DEMO, data, iters=2, warmup=1, overrides=tiny())
    phases, operators = profile["phases"], profile["operators"]
    assert {"D main", "G main", "D reg", "G reg", "EMA", "iteration"} <= set(phases)
    assert all(phases[p]["operators_per_call"] > 0 for p in ("D main", "G main", "D reg", "G reg", "EMA"))
    names = [row["operator"] for row in operators["top"]]
    assert any("conv2d" in name for name in names) and 0 < operators["convolution_share"] < 1
    assert operators["top"][0]["ms_per_iter"] >= operators["top"][-1]["ms_per_iter"] > 0
