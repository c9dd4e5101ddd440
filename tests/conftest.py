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
