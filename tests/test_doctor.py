"""``ppgan-stylegan doctor``: the CPU run writes its table and JSON; its GPU branches run forced on the CPU."""
import json
import os
import subprocess
import sys
import types

import pytest

from conftest import ROOT
from ppgan_stylegan.bench import doctor
from ppgan_stylegan.ops import polyphase

CHECKS = ["platform", "shared memory", "float16 autocast", "double gradients", "path-length gradient", "host reads",
          "speed", "largest activations"]


@pytest.mark.slow
def test_doctor_on_the_cpu_runs_what_applies_and_says_what_it_skipped(tmp_path):
    out = tmp_path / "doctor.json"
    run = subprocess.run([sys.executable, "-m", "ppgan_stylegan.cli", "doctor", "--out", str(out), "--timing-size", "16",
                          "--iterations", "1"], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = {r["check"]: r for r in json.loads(out.read_text())["checks"]}
    assert list(results) == CHECKS
    assert {k for k, r in results.items() if r["status"] == "skipped"} == {"float16 autocast", "path-length gradient"}
    assert all("no GPU" in results[k]["detail"] for k in ("float16 autocast", "path-length gradient"))
    assert results["double gradients"]["status"] == "ok" and results["double gradients"]["failed"] == []
    assert results["host reads"]["status"] == "ok" and max(results["host reads"]["per_iteration"]) == 1
    assert results["speed"]["float32"]["s_per_kimg"] > 0 and "amp" not in results["speed"]
    for name in CHECKS:  # the table names every check
        assert name in run.stdout


@pytest.fixture
def as_on_a_gpu(monkeypatch, autocast_on_cpu):
    """The doctor's GPU branches on the CPU: the device query, the device properties and Paddle's autocast guard
    answer as a GPU would (the ops still run on the CPU in float32)."""
    monkeypatch.setattr(doctor, "on_gpu", lambda: True)
    monkeypatch.setattr(doctor.paddle, "get_device", lambda: "gpu:0")
    props = types.SimpleNamespace(name="Tesla V100-SXM2-32GB", total_memory=32 * 2 ** 30)
    monkeypatch.setattr(doctor.paddle.device.cuda, "get_device_properties", lambda *a: props)


def test_gpu_branches_forced_on_the_cpu(as_on_a_gpu):
    platform = doctor.platform_check()
    assert "Tesla V100-SXM2-32GB (32.0 GiB)" in platform["detail"] and platform["gpu_memory_gib"] == 32.0
    # autocast: the float16 block is entered (O1), but a CPU conv stays float32: the doctor says so
    autocast = doctor.autocast_check()
    assert autocast["status"] == "failed" and "ran in float32" in autocast["detail"]
    # the device path and the polyphase path (both polyphase here) agree exactly
    paths = doctor.path_length_paths_check()
    assert paths["status"] == "ok" and paths["max_relative_difference"] == 0.0
    speed = doctor.timing_check(16, 2, 1, warmup=1)  # with and without mixed precision
    assert set(speed) >= {"float32", "amp"} and speed["amp"]["s_per_kimg"] > 0 and "anchors" not in speed["detail"]
    largest = doctor.activations_check(16)
    assert largest["detail"].startswith("mixed precision") and max(largest["per_layer_type"].values()) <= 256


def test_a_check_that_raises_is_reported_and_the_others_still_run(monkeypatch):
    monkeypatch.setattr(doctor, "double_gradient_check", lambda: 1 / 0)
    results = doctor.run_checks(size=16, batch=2, iterations=1, timing=False)
    assert [r["check"] for r in results][:3] == CHECKS[:3]
    failed = [r for r in results if r["status"] == "failed"]
    assert len(failed) == 1 and "ZeroDivisionError" in failed[0]["detail"] and len(results) == len(CHECKS)
    assert results[-2]["status"] == "skipped" and results[-2]["check"] == "speed"


def test_the_polyphase_path_can_be_forced(monkeypatch):
    """``PPGAN_STYLEGAN_POLYPHASE=1`` or ``polyphase_everywhere()``: the polyphase path on any device."""
    monkeypatch.delenv(polyphase.POLYPHASE_ENV, raising=False)
    assert not polyphase._polyphase_forced()
    with polyphase.polyphase_everywhere():
        assert polyphase._polyphase_forced()
    monkeypatch.setenv(polyphase.POLYPHASE_ENV, "1")
    assert polyphase._polyphase_forced()
    with polyphase.polyphase_everywhere(False):
        assert not polyphase._polyphase_forced()
