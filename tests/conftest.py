"""Shared test helpers: the repo paths, the tiny demo config, script runs in subprocesses, image folders.

Tests that run our command lines in subprocesses, train, or start several processes are marked ``slow``
(``make test-fast`` skips them; ``make test`` runs everything).
"""
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import ppgan_stylegan  # noqa: F401  (compat shim before ppgan)
import paddle  # noqa: E402

paddle.set_device("cpu")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = [sys.executable, os.path.join(ROOT, "tools", "main.py")]  # training command, for Popen (signals, kills)

DEMO = os.path.join(ROOT, "configs", "stylegan_v2_demo.yaml")
# the demo config shrunk to 8 px, 16-d styles, 16 channels: a training iteration takes milliseconds
TINY_DEFAULTS = {
    "model.generator.size": 8, "model.discriminator.size": 8, "model.generator.style_dim": 16,
    "model.generator.n_mlp": 2, "model.generator.channel_base": 64, "model.generator.channel_max": 16,
    "model.discriminator.channel_base": 64, "model.discriminator.channel_max": 16, "model.r1_interval": 2,
    "model.pl_interval": 2, "model.r1_gamma": 1.0, "model.visual_num": 4, "dataset.train.batch_size": 4,
    "log_config.interval": 1, "log_config.visiual_interval": 2, "snapshot_config.interval": 2,
    "validate.interval": -1}


def tiny(changes=None):
    """``-o`` overrides for the tiny demo config; ``changes`` replaces values (None drops a key)."""
    merged = dict(TINY_DEFAULTS, **(changes or {}))
    return [f"{k}={v}" for k, v in merged.items() if v is not None]


def randomize(net, seed=0, scale=0.1):
    """Perturb every parameter so that zero-initialised ones (biases, noise strengths) matter."""
    rng = np.random.RandomState(seed)
    for p in net.parameters():
        p.set_value(p.numpy() + scale * rng.standard_normal(p.shape).astype("float32"))
    return net


def tiny_generator_file(folder, **extra):
    """A trainer-style weight file ``iter_10_weight.pdparams`` {'gen', 'gen_ema', 'disc', **extra} of a random
    16 px StyleGAN2 generator (styles 16-d, 32 channels) with a tracked w_avg: what the applications' tests load."""
    from ppgan_stylegan import StyleGAN2Generator
    paddle.seed(11)
    g = randomize(StyleGAN2Generator(16, style_dim=16, n_mlp=2, channel_base=256, channel_max=32), 4)
    g.update_w_avg(g.get_latent(paddle.randn([256, 16])), beta=0.0)
    path = os.path.join(str(folder), "iter_10_weight.pdparams")
    paddle.save({"gen": g.state_dict(), "gen_ema": g.state_dict(), "disc": {}, **extra}, path)
    return path


def max_diff(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


@pytest.fixture
def seeded():
    paddle.seed(1234)
    np.random.seed(1234)
    yield


def run_script(script, *args, cwd=None, timeout=600, env=None):
    """Run one of our scripts (``tools/main.py``, ``applications/generate.py``, ...) in a fresh interpreter;
    a hung process fails the test after ``timeout`` seconds."""
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_folders(root):
    """The run folders under an output root (real folders; not the ``*-latest`` links)."""
    root = str(root)
    if not os.path.isdir(root):
        return []
    return sorted(os.path.join(root, d) for d in os.listdir(root)
                  if os.path.isdir(os.path.join(root, d)) and not os.path.islink(os.path.join(root, d)))


def train_cli(args, cwd):
    """``tools/main.py`` with ``args`` in ``cwd``; a failed run fails the test with its output."""
    out = run_script("tools/main.py", *args, cwd=cwd)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def only_run(root):
    """The one run folder under ``root``."""
    (run,) = run_folders(root)
    return run


def losses_by_iteration(run):
    with open(os.path.join(run, "history.json")) as f:
        return {h["iter"]: h["losses"] for h in json.load(f) if "losses" in h}


def resume_matches(cfg_args, tmp_path, total, split_at):
    """Trains ``total`` iterations in one run and in two (``split_at``, then ``--resume`` from its checkpoint): the
    losses of every iteration and the final networks must agree (1e-6). Returns (straight run, resumed run)."""
    straight, split = str(tmp_path / "straight"), str(tmp_path / "split")
    train_cli(cfg_args + ["-o", f"total_iters={total}", f"output_dir={straight}"], str(tmp_path))
    train_cli(cfg_args + ["-o", f"total_iters={split_at}", f"output_dir={split}",
                          f"snapshot_config.interval={split_at}"], str(tmp_path))
    train_cli(cfg_args + ["-o", f"total_iters={total}", f"output_dir={split}", "--resume",
                          os.path.join(only_run(split), f"iter_{split_at}_checkpoint.pdparams")], str(tmp_path))
    runs = only_run(straight), only_run(split)
    h1, h2 = (losses_by_iteration(r) for r in runs)
    assert sorted(h1) == sorted(h2) == list(range(1, total + 1))
    for it in h1:
        assert h1[it].keys() == h2[it].keys(), it
        for k in h1[it]:
            assert abs(h1[it][k] - h2[it][k]) <= 1e-6, (it, k, h1[it][k], h2[it][k])
    from ppgan.utils.filesystem import load
    a, b = (load(os.path.join(r, f"iter_{total}_checkpoint.pdparams")) for r in runs)
    for net in ("gen", "disc", "gen_ema"):
        for k in a[net]:
            assert np.abs(np.asarray(a[net][k]) - np.asarray(b[net][k])).max() <= 1e-6, (net, k)
    assert a["model_state"] == b["model_state"]
    return runs


def into(folder):
    """Command-line flags that make a command write into exactly ``folder`` (``--outdir`` is the root of the run
    folders, ``--name`` the run's folder; ``--overwrite``: it may exist already)."""
    folder = str(folder)
    return ["--outdir", os.path.dirname(folder), "--name", os.path.basename(folder), "--overwrite"]


def noise_images(folder, n=6, sizes=(8,), seed=0):
    """``n`` random RGB PNGs in ``folder`` (sizes cycled), named ``0.png`` ...; returns the folder."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    for i in range(n):
        size = sizes[i % len(sizes)]
        Image.fromarray(rng.randint(0, 255, (size, size, 3)).astype("uint8")).save(os.path.join(folder, f"{i}.png"))
    return str(folder)


def pattern_images(folder, n=12, size=8, seed=0):
    """``n`` smooth coloured patterns (something a tiny GAN can learn), named ``img_NN.png``."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        base = np.sin(xx * (0.3 + 0.1 * i)) * 100 + yy * 10 + rng.randint(0, 40, (size, size))
        img = np.clip(np.stack([base, base[::-1], base.T], -1), 0, 255).astype("uint8")
        Image.fromarray(img).save(os.path.join(folder, f"img_{i:02d}.png"))
    return str(folder)


def class_images(root, n=8, size=16, seed=0):
    """Two classes as sub-folders (``labels: folders``: a_dark -> 0, b_bright -> 1): dark and bright patterns."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for k, name in enumerate(("a_dark", "b_bright")):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(n):
            base = np.sin(xx * (0.3 + 0.1 * i)) * 40 + yy * 3 + rng.randint(0, 20, (size, size)) + 60 + 120 * k
            img = np.clip(np.stack([base, base[::-1], base.T], -1), 0, 255).astype("uint8")
            Image.fromarray(img).save(os.path.join(root, name, f"{i:02d}.png"))
    return str(root)


AUTO_CAST = importlib.import_module("paddle.amp.auto_cast")


class _TracerOnAGPU:
    """Paddle's tracer, except that its expected place says GPU: what ``amp_guard`` checks before it sets the
    tracer's AMP level (the ops still run on the CPU, in float32)."""

    class _expected_place:
        is_gpu_place = staticmethod(lambda: True)
        is_xpu_place = staticmethod(lambda: False)
        is_custom_place = staticmethod(lambda: False)

    def __init__(self, tracer):
        object.__setattr__(self, "_tracer", tracer)

    def __getattr__(self, name):
        return getattr(self._tracer, name)

    def __setattr__(self, name, value):
        setattr(self._tracer, name, value)


@pytest.fixture
def autocast_on_cpu(monkeypatch):
    """Paddle's autocast guard enters as on a GPU (the tracer's level and op lists are set)."""
    tracer = paddle.base.framework._dygraph_tracer()
    monkeypatch.setattr(AUTO_CAST, "_dygraph_tracer", lambda: _TracerOnAGPU(tracer))
    monkeypatch.setattr(AUTO_CAST, "_is_gpu_float16_supported", lambda: True)
    return tracer


@pytest.fixture(scope="session")
def lpips_dir(tmp_path_factory):
    """Random LPIPS weights in PaddleGAN's two files (VGG16 features + non-negative linear heads)."""
    folder = tmp_path_factory.mktemp("lpips")
    paddle.seed(0)
    vgg = paddle.vision.models.vgg16()
    paddle.save({k: v for k, v in vgg.state_dict().items() if k.startswith("features.")},
                str(folder / "vgg16_official.pdparams"))
    from ppgan.metrics.lpips import NetLinLayer
    lins = paddle.nn.LayerList([NetLinLayer(c, use_dropout=True) for c in [64, 128, 256, 512, 512]])
    paddle.save({k: v.abs() for k, v in lins.state_dict().items()}, str(folder / "lins_0.1_vgg.pdparams"))
    return str(folder)
