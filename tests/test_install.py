"""Installs are reproducible: a fresh environment resolves this package (with its test extras) to the versions
pinned in constraints.txt, through the same arguments tools/install_deps.py gives pip."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PINS = os.path.join(ROOT, "constraints.txt")


def pins():
    with open(PINS) as f:
        return dict(line.strip().split("==") for line in f if "==" in line and not line.startswith("#"))


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_pin_the_libraries_and_never_paddle():
    pinned = pins()
    for name in ("numpy", "scipy", "scikit-image", "opencv-python-headless", "matplotlib", "pyyaml", "ppgan"):
        assert name in pinned, name
    assert not [name for name in pinned if name.startswith("paddlepaddle")]


@pytest.mark.slow
def test_fresh_install_resolves_to_the_pinned_versions(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    report = tmp_path / "report.json"
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
                          "--disable-pip-version-check", "--report", str(report), "-c", PINS, "-e", f"{ROOT}[test]",
                          "opencv-python-headless"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    resolved = {canonical(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    pinned = pins()
    checked = [name for name in resolved if name in pinned]
    assert len(checked) >= 20 and {"numpy", "scipy", "scikit-image", "matplotlib"} <= set(checked)
    assert {name: resolved[name] for name in checked} == {name: pinned[name] for name in checked}
