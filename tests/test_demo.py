"""tools/demo.py end to end (a few iterations): data prepared, grids, plot and summary written."""
import json
import os

import imageio_ffmpeg
import pytest
from PIL import Image

from conftest import run_folders, run_script

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)


def test_demo_script_runs_and_reports(tmp_path):
    data, out = tmp_path / "demo_data", tmp_path / "out"
    proc = run_script("tools/demo.py", "--iters", "4", "--data", data, "--outdir", out)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(os.listdir(data)) == 100  # prepared because it was missing
    (run,) = run_folders(out)
    with open(out / run / "summary.json") as f:
        summary = json.load(f)
    assert summary["iterations"] == 4 and summary["swd_before"] > 0 and summary["swd_after"] > 0
    for name in ("samples_before.png", "samples_after.png", "reals.png", "training.png"):
        img = Image.open(out / run / name)
        assert img.size[0] > 100
    assert Image.open(out / run / "samples_after.png").size == (8 * 33 + 1, 8 * 33 + 1)
    assert os.path.isfile(summary["checkpoint"])
    strip = Image.open(summary["interpolation"])
    assert strip.size == (8 * 33 + 1, 4 * 33 + 1)  # 4 walks of 8 steps
    gif = Image.open(summary["animation"])
    assert gif.format == "GIF" and gif.n_frames == 2 * 24 - 2 and gif.size == (3 * (4 * 33 + 1),) * 2
    reader = imageio_ffmpeg.read_frames(summary["video"])  # the same walk as an mp4 (the video extra)
    meta = next(reader)
    assert sum(1 for _ in reader) == 2 * 24 - 2 and meta["size"] == (3 * (4 * 33 + 1) + 1,) * 2  # (sides made even)
    assert "training:" in proc.stderr and "it/s" in proc.stderr  # the progress bar (tqdm, with its rate and ETA)
    assert "SWD x1e3 before" in proc.stdout and "samples:" in proc.stdout
