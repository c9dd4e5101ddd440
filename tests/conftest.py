import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import ppgan_stylegan  # noqa: E402,F401  (compat shim before ppgan)
import paddle  # noqa: E402

paddle.set_device("cpu")

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


def max_diff(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


@pytest.fixture
def seeded():
    paddle.seed(1234)
    np.random.seed(1234)
    yield
