"""Applications end to end (subprocess CLIs on a tiny generator) and the shared predictor base."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from PIL import Image
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

from conftest import ROOT, max_diff, randomize
from ppgan_stylegan import StyleGAN2Generator
from ppgan_stylegan.apps import StyleMixer, UserError, build_generator, parse_seeds, parse_styles

KW = dict(style_dim=16, n_mlp=2, channel_base=256, channel_max=32)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A trainer-style weight file {'gen', 'gen_ema', 'disc'} with a tracked w_avg."""
    paddle.seed(11)
    g = randomize(StyleGAN2Generator(16, **KW), 4)
    g.update_w_avg(g.get_latent(paddle.randn([256, 16])), beta=0.0)
    path = str(tmp_path_factory.mktemp("w") / "iter_10_weight.pdparams")
    paddle.save({"gen": g.state_dict(), "gen_ema": g.state_dict(), "disc": {}}, path)
    return path


def app(name, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "applications", f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=300)


def read(path):
    return np.asarray(Image.open(path)).astype(int)


def test_generate_per_seed_psi_zero_is_the_w_avg_image(weights, tmp_path):
    out = app("generate", "--weights", weights, "--seeds", "0-3", "--trunc", "0", "--per-seed", "--outdir",
              str(tmp_path))
    assert out.returncode == 0, out.stderr
    imgs = [read(tmp_path / f"seed{s:04d}.png") for s in range(4)]
    assert imgs[0].shape == (16, 16, 3)
    assert all(np.abs(imgs[0] - im).max() <= 1 for im in imgs[1:])
    lat = np.load(tmp_path / "seed0002.npy")
    assert lat.shape == (6, 16)
    g, _ = build_generator(weights)
    assert np.allclose(lat, np.broadcast_to(g.w_avg.numpy(), lat.shape), atol=1e-5)


def test_generate_grid_and_distinct_seeds(weights, tmp_path):
    out = app("generate", "--weights", weights, "--seeds", "0-3,9", "--outdir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    grid = read(tmp_path / "seeds.png")
    assert grid.shape == (2 * 17 + 1, 3 * 17 + 1, 3)
    a, b = read_tile(grid, 0), read_tile(grid, 1)
    assert np.abs(a - b).mean() > 2  # different seeds, different images
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".npy")) == [f"seed{s:04d}.npy" for s in (0, 1, 2, 3, 9)]


def read_tile(grid, i, size=16, ncol=3):
    r, c = divmod(i, ncol)
    return grid[1 + r * (size + 1): 1 + r * (size + 1) + size, 1 + c * (size + 1): 1 + c * (size + 1) + size]


def test_style_mixing_columns_share_coarse_structure(weights, tmp_path):
    mixer = StyleMixer(weights, output_dir=str(tmp_path))
    res = mixer.grid([0, 1, 2], [10, 11, 12], parse_styles("coarse", mixer.n_latent))
    assert os.path.isfile(res["file"])

    def low(x):
        return x.reshape(x.shape[0], 3, 4, 4, 4, 4).mean(axis=(3, 5))
    closer = 0
    for r in range(3):
        for c in range(3):
            cell = low(res["mixed"][r, c][None])
            closer += float(np.abs(cell - low(res["cols"][c][None])).mean() <
                            np.abs(cell - low(res["rows"][r][None])).mean())
    assert closer >= 8  # coarse layers come from the column source


def test_style_mixing_cli_and_blend(weights, tmp_path):
    out = app("style_mixing", "--weights", weights, "--rows", "0-1", "--cols", "5-7", "--styles", "0-1,3",
              "--outdir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "style layers [0, 1, 3] of 6" in out.stdout
    assert read(tmp_path / "style_mixing.png").shape == (3 * 17 + 1, 4 * 17 + 1, 3)
    gen_dir = tmp_path / "gen"
    assert app("generate", "--weights", weights, "--seeds", "3,4", "--outdir", str(gen_dir)).returncode == 0
    a, b = str(gen_dir / "seed0003.npy"), str(gen_dir / "seed0004.npy")
    out = app("style_mixing", "--weights", weights, "--blend", a, b, "--styles", "0-5", "--outdir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    mixer = StyleMixer(weights, output_dir=str(tmp_path / "x"))
    img_b = mixer.synthesize(mixer.load_latent(b)).numpy()
    blended = read(tmp_path / "blend.png")
    want = np.clip((img_b[0].transpose(1, 2, 0) + 1) * 127.5, 0, 255).round()
    assert np.abs(blended - want).max() <= 1  # all layers from B = B
    assert np.allclose(np.load(tmp_path / "blend.npy"), np.load(b), atol=1e-6)


def test_style_presets_follow_the_generator():
    assert parse_styles("coarse", 18) == [0, 1, 2, 3]
    assert parse_styles("fine", 18) == list(range(8, 18))
    assert parse_styles("middle,0", 14) == [0, 4, 5, 6, 7]
    with pytest.raises(UserError, match="only 6 styles"):
        parse_styles("fine", 6)
    with pytest.raises(UserError, match="within 0-5"):
        parse_styles("2-9", 6)
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]


def test_paddlegan_generator_file_loads_with_inferred_shapes(tmp_path):
    paddle.seed(3)
    theirs = randomize(StyleGANv2Generator(16, 16, 1, channel_multiplier=1), 2)
    path = str(tmp_path / "stylegan2.pdparams")
    paddle.save(theirs.state_dict(), path)
    gen, used = build_generator(path)
    assert used == "generator" and gen.size == 16 and gen.style_dim == 16
    assert gen.channels == {r: theirs.channels[r] for r in (4, 8, 16)}
    z = paddle.randn([2, 16])
    with paddle.no_grad():
        assert max_diff(theirs([z], randomize_noise=False)[0].numpy(), gen([z], noise="const")[0].numpy()) < 1e-4


@pytest.mark.parametrize("make,expect", [
    (lambda d: str(d / "missing.pdparams"), "no such file"),
    (lambda d: _write(d / "net.pkl", b"x"), "NVIDIA StyleGAN .pkl"),
    (lambda d: _write(d / "bad.pdparams", b"\x00garbage"), "not a readable Paddle weight file"),
])
def test_bad_weights_give_one_line_and_exit_2(tmp_path, make, expect):
    out = app("generate", "--weights", make(tmp_path), "--outdir", str(tmp_path / "o"))
    assert out.returncode == 2
    assert expect in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _write(path, data):
    path.write_bytes(data)
    return str(path)
