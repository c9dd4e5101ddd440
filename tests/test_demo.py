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


def _demo_generator(folder):
    """A generator of the pSp demo configs' architecture (random weights, as `make demo` would leave one)."""
    import paddle
    from ppgan_stylegan.core.config import load_config
    from ppgan_stylegan.networks.generators import StyleGAN2Generator
    gen = load_config(os.path.join(os.path.dirname(__file__), "..", "configs", "psp_superres_demo.yaml")).model.generator
    paddle.seed(3)
    path = str(folder / "g32.pdparams")
    paddle.save({"gen_ema": StyleGAN2Generator(**{k: v for k, v in gen.items() if k != "name"}).state_dict()}, path)
    return path


def test_psp_demos_train_and_score_the_held_out_faces(tmp_path):
    """demo --config configs/psp_<task>_demo.yaml: the encoder trained against the given generator, the held-out
    faces scored as `encode` scores them (superres: per factor against bicubic; sketch2face: drawn sketches
    against latent_avg)."""
    data, out, gen = tmp_path / "demo_data", tmp_path / "out", _demo_generator(tmp_path)
    for task, rows in (("superres", [4, 8]), ("sketch2face", [None])):
        proc = run_script("tools/demo.py", "--config", f"configs/psp_{task}_demo.yaml", "--iters", "3", "--data",
                          data, "--outdir", out, "--generator", gen)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        run = out / f"psp_{task}_demo-latest"
        summary = json.load(open(run / "summary.json"))
        assert summary["iterations"] == 3 and len(os.listdir(run / "held_out")) == 10
        assert [row.get("factor") for row in summary["evaluations"]] == rows
        for row in summary["evaluations"]:
            assert row["task"] == task and row["images"] == 10 and Image.open(row["grid"]).size[1] == 3 * 33 + 1
            assert row["beats_baseline"] == (row["mse"] < row["mse_baseline"]) and f"MSE {row['mse']:.4f}" in proc.stdout
    # the same numbers from the encode command on the held-out copies (sketches drawn by --from-photos)
    enc = run_script("applications/encode.py", "--weights", run, "--images", run / "held_out", "--no-align",
                     "--from-photos", "--outdir", tmp_path / "e", "--name", "x")
    assert enc.returncode == 0, enc.stderr[-2000:]
    assert f"mean mse: {summary['evaluations'][0]['mse']:.4f}" in enc.stdout
    # the pSp demos need a generator; a StyleGAN demo takes none
    bare = run_script("tools/demo.py", "--config", "configs/psp_superres_demo.yaml", "--data", data,
                      "--outdir", tmp_path / "empty")
    assert bare.returncode == 2 and "run `make demo`" in bare.stderr and "Traceback" not in bare.stderr
    wrong = run_script("tools/demo.py", "--iters", "1", "--data", data, "--outdir", out, "--generator", gen)
    assert wrong.returncode == 2 and "only the pSp demos" in wrong.stderr
