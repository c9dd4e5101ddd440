"""Applications end to end (subprocess CLIs on a tiny generator) and the shared predictor base."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
from PIL import Image
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

from conftest import into, max_diff, randomize, run_folders, run_script, tiny_generator_file
from ppgan_stylegan.apps import StyleMixer, parse_seeds, parse_styles
from ppgan_stylegan.core.errors import UserError
from ppgan_stylegan.networks.loading import load_generator


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A trainer-style weight file {'gen', 'gen_ema', 'disc'} with a tracked w_avg."""
    return tiny_generator_file(tmp_path_factory.mktemp("w"))


def app(name, *args):
    """applications/<name>.py in a subprocess (the shared runner)."""
    return run_script(f"applications/{name}.py", *args)


def read(path):
    return np.asarray(Image.open(path)).astype(int)


@pytest.mark.slow
def test_generate_per_seed_psi_zero_is_the_w_avg_image(weights, tmp_path):
    out = app("generate", "--weights", weights, "--seeds", "0-3", "--trunc", "0", "--per-seed", *into(str(tmp_path)))
    assert out.returncode == 0, out.stderr
    imgs = [read(tmp_path / f"seed{s:04d}.png") for s in range(4)]
    assert imgs[0].shape == (16, 16, 3)
    assert all(np.abs(imgs[0] - im).max() <= 1 for im in imgs[1:])
    lat = np.load(tmp_path / "seed0002.npy")
    assert lat.shape == (6, 16)
    g, _ = load_generator(weights)
    assert np.allclose(lat, np.broadcast_to(g.w_avg.numpy(), lat.shape), atol=1e-5)


@pytest.mark.slow
def test_generate_grid_and_distinct_seeds(weights, tmp_path):
    out = app("generate", "--weights", weights, "--seeds", "0-3,9", *into(str(tmp_path)))
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


@pytest.mark.slow
def test_style_mixing_cli_and_blend(weights, tmp_path):
    out = app("style_mixing", "--weights", weights, "--rows", "0-1", "--cols", "5-7", "--styles", "0-1,3",
              *into(str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert "style layers [0, 1, 3] of 6" in out.stdout
    assert read(tmp_path / "style_mixing.png").shape == (3 * 17 + 1, 4 * 17 + 1, 3)
    gen_dir = tmp_path / "gen"
    assert app("generate", "--weights", weights, "--seeds", "3,4", *into(str(gen_dir))).returncode == 0
    a, b = str(gen_dir / "seed0003.npy"), str(gen_dir / "seed0004.npy")
    out = app("style_mixing", "--weights", weights, "--blend", a, b, "--styles", "0-5", *into(str(tmp_path)))
    assert out.returncode == 0, out.stderr
    mixer = StyleMixer(weights, output_dir=str(tmp_path / "x"))
    img_b = mixer.synthesize(mixer.load_latent(b)[0]).numpy()
    blended = read(tmp_path / "blend.png")
    want = np.clip((img_b[0].transpose(1, 2, 0) + 1) * 127.5, 0, 255).round()
    assert np.abs(blended - want).max() <= 1  # all layers from B = B
    assert np.allclose(np.load(tmp_path / "blend.npz")["w_plus"], np.load(b), atol=1e-6)


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
    gen, used = load_generator(path)
    assert used == "generator" and gen.size == 16 and gen.style_dim == 16
    assert gen.channels == {r: theirs.channels[r] for r in (4, 8, 16)}
    z = paddle.randn([2, 16])
    with paddle.no_grad():
        assert max_diff(theirs([z], randomize_noise=False)[0].numpy(), gen([z], noise="const")[0].numpy()) < 1e-4


@pytest.mark.parametrize("make,expect", [
    (lambda d: str(d / "missing.pdparams"), "no such file"),
    (lambda d: _write(d / "net.pkl", b"x"), "an NVIDIA network pickle: convert it first"),
    (lambda d: _write(d / "bad.pdparams", b"\x00garbage"), "not a readable Paddle weight file"),
])
@pytest.mark.slow
def test_bad_weights_give_one_line_and_exit_2(tmp_path, make, expect):
    out = app("generate", "--weights", make(tmp_path), *into(str(tmp_path / "o")))
    assert out.returncode == 2
    assert expect in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _write(path, data):
    path.write_bytes(data)
    return str(path)


def test_sefa_directions_are_orthonormal(weights):
    from ppgan_stylegan.apps.edit import LatentEditor
    editor = LatentEditor(weights, output_dir="/tmp/ppgan_stylegan_test_edit")
    dirs, sv = editor.sefa_directions()
    assert dirs.shape == (16, 16)
    assert np.allclose(dirs @ dirs.T, np.eye(16), atol=1e-4)
    assert np.all(np.diff(sv) <= 1e-6)  # strongest first
    coarse, _ = editor.sefa_directions(layers=[0, 1])
    assert not np.allclose(np.abs(coarse[0]), np.abs(dirs[0]), atol=1e-3)  # depends on the layers


def test_edit_strength_zero_is_identity_latent_and_s_space(weights, tmp_path):
    from ppgan_stylegan.apps.edit import LatentEditor
    editor = LatentEditor(weights, output_dir=str(tmp_path))
    w = editor.w_from_seeds([5])
    base = editor.synthesize(w).numpy()[0]
    imgs, path = editor.latent_strip(w, editor.sefa_directions()[0][:1], [-2.0, 0.0, 2.0])
    assert os.path.isfile(path) and imgs.shape[0] == 3
    assert max_diff(imgs[1], base) < 1e-5 and max_diff(imgs[0], base) > 1e-2
    imgs, path = editor.s_space_strip(w, layer=3, channel=2, strengths=[0.0, 8.0])
    assert max_diff(imgs[0], base) < 1e-5 and max_diff(imgs[1], base) > 1e-3
    with pytest.raises(UserError, match="S layer 3 has channels 0-"):
        editor.s_space_strip(w, layer=3, channel=10 ** 6, strengths=[1.0])


@pytest.mark.slow
def test_edit_cli_sefa_and_paddlegan_directions(weights, tmp_path):
    out = app("edit", "--weights", weights, "--seed", "1", "--sefa", "0", "--steps", "5", *into(str(tmp_path)))
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "edit.png").shape == (17 + 1, 5 * 17 + 1, 3)
    assert np.load(tmp_path / "edit.npy").shape == (5, 6, 16)
    table = str(tmp_path / "directions.pdparams")
    paddle.save({"age": paddle.randn([6, 16]), "smile": paddle.randn([16])}, table)
    out = app("edit", "--weights", weights, "--seed", "1", "--direction", table + ":smile", "--layers", "0-2",
              *into(str(tmp_path / "b")))
    assert out.returncode == 0, out.stderr
    lat = np.load(tmp_path / "b" / "edit.npy")
    assert np.allclose(lat[:, 3:], lat[:1, 3:])  # layers outside 0-2 untouched
    out = app("edit", "--weights", weights, "--seed", "1", "--direction", table + ":beard", *into(str(tmp_path / "c")))
    assert out.returncode == 2 and "no direction 'beard'; available: age, smile" in out.stderr
    out = app("edit", "--weights", weights, "--seed", "1", "--direction", table, *into(str(tmp_path / "d")))
    assert out.returncode == 2 and f"{table}: a directions file; name one as {table}:NAME (available: age, smile)" \
        in out.stderr
    assert not os.path.exists(tmp_path / "d")  # a failed command leaves no empty run folder


def _mse_pair(stdout):
    return [float(v) for v in stdout.split("MSE ")[1].split(" after")[0].split(" -> ")]


@pytest.mark.slow
def test_project_a_generated_image_reaches_low_mse(weights, tmp_path):
    from ppgan_stylegan.apps.project import Projector
    from ppgan_stylegan.core.images import save_png, to_uint8
    proj = Projector(weights, output_dir=str(tmp_path))
    target_img = proj.synthesize(proj.w_from_seeds([7]), noise_mode="const")
    target_path = save_png(to_uint8(target_img)[0], str(tmp_path / "target.png"))
    # the PNG clips to [-1, 1] and quantises: the true latent's image is this far from the file
    png = read(target_path).transpose(2, 0, 1)[None] / 127.5 - 1.0
    floor = float(((target_img.numpy() - png) ** 2).mean())
    # W space with the generator's stored noise: the latent is recovered (stated bound: floor + 2e-3)
    out = app("project", "--weights", weights, "--target", target_path, "--steps", "150", "--space", "w",
              "--fixed-noise", *into(str(tmp_path / "w")))
    assert out.returncode == 0, out.stderr
    first, last = _mse_pair(out.stdout)
    assert last < floor + 2e-3 and last < 0.25 * first
    # W+ with optimised, regularised noise maps (NVlabs' default): MSE < floor + 0.15 and < 1/4 of the start
    out = app("project", "--weights", weights, "--target", target_path, "--steps", "150", "--progress", "3",
              *into(str(tmp_path / "p")))
    assert out.returncode == 0, out.stderr
    first, last = _mse_pair(out.stdout)
    assert last < floor + 0.15 and last < 0.25 * first
    lat = np.load(tmp_path / "p" / "target_projected.npz")["w_plus"]
    assert lat.shape == (6, 16)
    assert read(tmp_path / "p" / "target_projected_progress.png").shape[1] == 5 * 17 + 1  # target + 4 snapshots
    out = app("project", "--weights", weights, "--target", str(tmp_path / "nope.png"), *into(str(tmp_path)))
    assert out.returncode == 2 and "no such file" in out.stderr


@pytest.mark.slow
def test_export_reproduces_the_dynamic_graph(weights, tmp_path):
    out = run_script("tools/export.py", "--weights", weights, *into(tmp_path / "inf"))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    reported = float(out.stdout.split("max |diff| ")[1].split()[0])
    assert reported < 1e-4 and read(tmp_path / "inf" / "generator_check.png").shape == (2 * 17 + 1, 8 * 17 + 1, 3)
    loaded = paddle.jit.load(str(tmp_path / "inf" / "generator"))
    gen, _ = load_generator(weights)
    z = paddle.to_tensor(np.random.RandomState(0).standard_normal([3, 16]).astype("float32"))
    psi = paddle.to_tensor(np.array([[1.0], [0.5], [0.0]], "float32"))
    with paddle.no_grad():
        got = loaded(z, psi).numpy()
        want = np.concatenate([gen([z[i:i + 1]], truncation=float(psi[i, 0]), noise="const")[0].numpy()
                               for i in range(3)])
    assert got.shape == (3, 3, 16, 16)
    assert max_diff(got, want) < 1e-4
    with paddle.no_grad():  # psi = 0 uses the tracked w_avg, not a sampled mean
        avg_img = gen([gen.w_avg.unsqueeze(0)], input_is_latent=True, noise="const")[0].numpy()
    assert max_diff(got[2], avg_img[0]) < 1e-4


@pytest.fixture(scope="module")
def v1_weights(tmp_path_factory):
    """A StyleGAN (v1) trainer-style file: G_style at 16 px with fused up-sampling convs (in the saved config, which
    the shapes cannot tell), a tracked dlatent average, at full resolution."""
    from ppgan_stylegan import StyleGANGenerator
    paddle.seed(12)
    cfg = dict(size=16, style_dim=16, n_mlp=2, fmap_base=64, fmap_max=32, fused_scale=True)
    g = randomize(StyleGANGenerator(**cfg), 5)
    g.update_w_avg(g.get_latent(paddle.randn([256, 16])), beta=0.0)
    path = str(tmp_path_factory.mktemp("v1") / "iter_10_weight.pdparams")
    meta = {"config": {"model": {"generator": dict(name="StyleGANGenerator", **cfg)}}}
    paddle.save({"gen": g.state_dict(), "gen_ema": g.state_dict(), "disc": {}, "meta": meta}, path)
    return path


@pytest.mark.slow
def test_stylegan1_checkpoint_through_every_application(v1_weights, tmp_path):
    from ppgan_stylegan import StyleGANGenerator
    from ppgan_stylegan.apps.edit import LatentEditor
    gen, _ = load_generator(v1_weights)
    assert isinstance(gen, StyleGANGenerator) and gen.layers[2].conv.fused and gen.n_latent == 6
    out = app("generate", "--weights", v1_weights, "--seeds", "0-3", "--trunc", "0.7", *into(str(tmp_path / "g")))
    assert out.returncode == 0, out.stderr
    assert read(tmp_path / "g" / "seeds.png").shape == (2 * 17 + 1, 2 * 17 + 1, 3)
    lat = np.load(tmp_path / "g" / "seed0001.npy")
    assert lat.shape == (6, 16)
    with paddle.no_grad():  # the saved latent reproduces the generated image
        img = gen([paddle.to_tensor(lat[None])], input_is_latent=True, noise="const")[0].numpy()
    assert read(tmp_path / "g" / "seeds.png").shape[2] == 3 and np.isfinite(img).all()
    out = app("style_mixing", "--weights", v1_weights, "--rows", "0-1", "--cols", "5-6", "--styles", "0-1",
              *into(str(tmp_path / "m")))
    assert out.returncode == 0, out.stderr
    assert "style layers [0, 1] of 6" in out.stdout
    editor = LatentEditor(v1_weights, output_dir=str(tmp_path / "e"))
    w = editor.w_from_seeds([5])
    base = editor.synthesize(w).numpy()[0]
    directions, _ = editor.sefa_directions()
    imgs, _ = editor.latent_strip(w, directions[:1], [0.0, 3.0])
    assert max_diff(imgs[0], base) < 1e-5 and max_diff(imgs[1], base) > 1e-2
    imgs, _ = editor.s_space_strip(w, layer=2, channel=1, strengths=[0.0, 4.0])
    assert max_diff(imgs[0], base) < 1e-5 and max_diff(imgs[1], base) > 1e-3
    out = app("edit", "--weights", v1_weights, "--seed", "1", "--sefa", "0", "--steps", "3", *into(str(tmp_path / "e2")))
    assert out.returncode == 0, out.stderr
    target = str(tmp_path / "target.png")
    Image.fromarray(read(tmp_path / "g" / "seeds.png")[1:17, 1:17].astype("uint8")).save(target)
    out = app("project", "--weights", v1_weights, "--target", target, "--steps", "40", *into(str(tmp_path / "p")))
    assert out.returncode == 0, out.stderr
    first, last = _mse_pair(out.stdout)
    assert last < first and np.load(tmp_path / "p" / "target_projected.npz")["w_plus"].shape == (6, 16)
    out = run_script("tools/export.py", "--weights", v1_weights, *into(tmp_path / "inf"))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert float(out.stdout.split("max |diff| ")[1].split()[0]) < 1e-4


@pytest.mark.slow
def test_project_then_edit_at_strength_zero_reproduces_the_projection(weights, tmp_path):
    """project writes W+ and its fitted noise maps (.npz); edit / generate --latents / mix --blend read them, so
    strength 0 is the projection itself (it was 3.4x further off when only W+ was kept)."""
    from ppgan_stylegan.apps.edit import LatentEditor
    from ppgan_stylegan.core.images import save_png, to_uint8
    editor = LatentEditor(weights, output_dir=str(tmp_path / "api"))
    target = save_png(to_uint8(editor.synthesize(editor.w_from_seeds([5]), "random"))[0], str(tmp_path / "t.png"))
    out = app("project", "--weights", weights, "--target", target, "--steps", "30", *into(tmp_path / "p"))
    assert out.returncode == 0, out.stderr
    latent, projected = str(tmp_path / "p" / "t_projected.npz"), read(tmp_path / "p" / "t_projected.png")
    stored = np.load(latent)
    assert sorted(stored.files) == [f"noise_{i}" for i in range(5)] + ["w_plus"]  # 16 px: 5 noise maps
    out = app("edit", "--weights", weights, "--latent", latent, "--sefa", "0", "--steps", "3", *into(tmp_path / "e"))
    assert out.returncode == 0, out.stderr
    strip = read(tmp_path / "e" / "edit.png")  # strengths -3, 0, 3: the middle cell is strength 0
    assert np.array_equal(strip[1:17, 18:34], projected)
    assert not np.array_equal(strip[1:17, 1:17], projected)
    assert np.allclose(np.load(tmp_path / "e" / "edit.npy")[1], stored["w_plus"])
    # the same file through generate --latents and mix --blend (all layers from itself)
    out = app("generate", "--weights", weights, "--latents", latent, "--per-seed", *into(tmp_path / "g"))
    assert out.returncode == 0, out.stderr
    assert np.array_equal(read(tmp_path / "g" / "t_projected.png"), projected)
    out = app("style_mixing", "--weights", weights, "--blend", latent, latent, "--styles", "0-5", *into(tmp_path / "m"))
    assert out.returncode == 0, out.stderr
    assert np.array_equal(read(tmp_path / "m" / "blend.png"), projected)
    # without the noise maps (the W+ alone, as before) the image is not the projection
    wplus, noise = editor.load_latent(latent)
    assert noise is not None and max_diff(editor.synthesize(wplus, noise), editor.synthesize(wplus, "const")) > 1e-3


@pytest.mark.slow
def test_weighted_directions_add_up(weights, tmp_path):
    from ppgan_stylegan.apps.edit import LatentEditor
    editor = LatentEditor(weights, output_dir=str(tmp_path / "api"))
    directions, _ = editor.sefa_directions()
    np.save(tmp_path / "d.npy", directions[3])
    out = app("edit", "--weights", weights, "--seed", "2", "--direction", "sefa:0=2", "--direction",
              f"{tmp_path / 'd.npy'}=-0.5", "--steps", "2", "--strength", "1", *into(tmp_path / "e"))
    assert out.returncode == 0, out.stderr
    want = 2 * directions[0] - 0.5 * directions[3]
    assert np.allclose(np.load(tmp_path / "e" / "direction.npy"), np.broadcast_to(want, [6, 16]), atol=1e-6)
    lat = np.load(tmp_path / "e" / "edit.npy")  # strengths -1, 1
    assert np.allclose(lat[1] - lat[0], 2 * np.broadcast_to(want, [6, 16]), atol=1e-5)
    # the saved direction is reusable as is
    out = app("edit", "--weights", weights, "--seed", "2", "--direction", str(tmp_path / "e" / "direction.npy"),
              "--steps", "2", "--strength", "1", *into(tmp_path / "f"))
    assert out.returncode == 0, out.stderr
    assert np.allclose(np.load(tmp_path / "f" / "edit.npy"), lat, atol=1e-6)
    for bad, message in [("sefa:x", "expected sefa:K with an integer K"), ("sefa:99", "SeFa directions 0-15 exist"),
                         ("sefa:0=big", "the weight after '=' must be a number, got 'big'")]:
        out = app("edit", "--weights", weights, "--seed", "2", "--direction", bad, *into(tmp_path / "bad"))
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.slow
def test_no_two_runs_of_a_command_write_the_same_files(weights, tmp_path):
    """Each command twice at once with the default output flags (same second, same folder): two run folders,
    both complete, and <command>-latest points to one of them."""
    target = str(tmp_path / "t.png")
    Image.fromarray(np.full([16, 16, 3], 128, "uint8")).save(target)
    commands = {"generate": ["--seeds", "0-1"], "mix": ["--rows", "0", "--cols", "1"],
                "project": ["--target", target, "--steps", "2"], "edit": ["--seed", "1", "--sefa", "0", "--steps", "2"],
                "export": ["--check-seeds", "0"], "metrics": ["--metrics", "ppl", "--ppl-num", "4"]}
    env = dict(os.environ, PPGAN_STYLEGAN_QUICK="1")
    for command, args in commands.items():
        argv = [sys.executable, "-m", "ppgan_stylegan.cli", command, "--weights", weights, *args]
        procs = [subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        folders = [f for f in run_folders(tmp_path / "output") if os.path.basename(f).startswith(command + "-")]
        assert len(folders) == 2, (command, folders)
        assert {out.split("output: ")[-1].strip() for out, _ in outs} == \
            {os.path.relpath(f, tmp_path) for f in folders}
        a, b = (sorted(os.listdir(f)) for f in folders)
        assert a == b and a, (command, a, b)
        latest = os.path.realpath(tmp_path / "output" / f"{command}-latest")
        assert latest in [os.path.realpath(f) for f in folders]
