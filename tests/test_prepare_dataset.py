"""tools/prepare_dataset.py as a subprocess: any size/mode -> square power-of-two PNGs; the demo set."""
import os

import numpy as np
import pytest
from PIL import Image

from conftest import run_script

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)


def run(*args):
    return run_script("tools/prepare_dataset.py", *args)


def test_folder_of_mixed_images(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(src / "rgb.jpg")
    Image.fromarray(np.full((50, 30), 90, np.uint8), mode="L").save(src / "gray.png")
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 128
    Image.fromarray(rgba, mode="RGBA").save(src / "sub" / "alpha.png")
    (src / "broken.png").write_bytes(b"not an image")
    out = run("--src", str(src), "--dst", str(tmp_path / "dst"), "--size", "16", "--channels", "3")
    assert out.returncode == 0, out.stderr
    assert "wrote 3 RGB images of 16x16" in out.stdout and "1 skipped" in out.stdout
    assert "broken.png" in out.stderr
    files = sorted(os.listdir(tmp_path / "dst"))
    assert len(files) == 3
    for f in files:
        img = Image.open(tmp_path / "dst" / f)
        assert img.size == (16, 16) and img.mode == "RGB"
    gray = [np.asarray(Image.open(tmp_path / "dst" / f)) for f in files]
    assert any(abs(int(g[8, 8, 0]) - 90) <= 2 and g[8, 8, 0] == g[8, 8, 2] for g in gray)
    out = run("--src", str(src), "--dst", str(tmp_path / "auto"), "--size", "16")  # channels auto: one has alpha
    assert out.returncode == 0 and "wrote 3 RGBA images of 16x16" in out.stdout, out.stdout + out.stderr
    assert {Image.open(tmp_path / "auto" / f).mode for f in files} == {"RGBA"}


def test_bad_size_and_missing_source(tmp_path):
    out = run("--src", str(tmp_path), "--dst", str(tmp_path / "d"), "--size", "48")
    assert out.returncode == 2 and "--size: expected a power of two" in out.stderr
    out = run("--src", str(tmp_path / "nope"), "--dst", str(tmp_path / "d"))
    assert out.returncode != 0 and "is not a folder" in out.stderr


def test_demo_dataset(tmp_path):
    out = run("--demo", "--dst", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    files = sorted(os.listdir(tmp_path / "demo"))
    assert len(files) == 100
    img = np.asarray(Image.open(tmp_path / "demo" / files[0]))
    assert img.shape == (32, 32, 3) and img.std() > 10
