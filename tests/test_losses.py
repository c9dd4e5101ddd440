"""Every loss and penalty against a value computed by hand on a tiny input."""
import math

import numpy as np
import paddle
import pytest

from ppgan_stylegan import losses

REAL = [2.0, -1.0]
FAKE = [0.5, -3.0]


def sp(x):
    return math.log1p(math.exp(x))


def t(values):
    return paddle.to_tensor(np.array(values, dtype="float32").reshape(-1, 1))


@pytest.mark.parametrize("name,want", [
    ("nonsaturating", (sp(-0.5) + sp(3.0)) / 2),
    ("saturating", -(sp(0.5) + sp(-3.0)) / 2),
    ("wgan", -(0.5 - 3.0) / 2),
    ("hinge", -(0.5 - 3.0) / 2),
])
def test_generator_losses(name, want):
    assert abs(float(losses.G_LOSSES[name](t(FAKE))) - want) < 1e-6


def test_discriminator_losses():
    real, fake = t(REAL), t(FAKE)
    logistic = ((sp(0.5) + sp(-2.0)) + (sp(-3.0) + sp(1.0))) / 2
    assert abs(float(losses.d_logistic(real, fake)) - logistic) < 1e-6
    wgan = ((0.5 - 2.0 + 0.001 * 4.0) + (-3.0 + 1.0 + 0.001 * 1.0)) / 2
    assert abs(float(losses.d_wgan(real, fake)) - wgan) < 1e-6
    hinge = ((max(0, 1 + 0.5) + max(0, 1 - 2.0)) + (max(0, 1 - 3.0) + max(0, 1 + 1.0))) / 2
    assert abs(float(losses.d_hinge(real, fake)) - hinge) < 1e-6
    assert set(losses.D_LOSSES) == {"logistic", "wgan", "wgan_gp", "hinge", "hinge_gp"}


class Linear(paddle.nn.Layer):
    """D(x) = sum(w * x): its input gradient is w everywhere, so penalties are known exactly."""

    def __init__(self, w):
        super().__init__()
        self.w = paddle.to_tensor(w)

    def forward(self, x):
        return (x * self.w).reshape([x.shape[0], -1]).sum(1, keepdim=True)


def test_r1_r2_gradient_penalty_exact_on_linear_d():
    w = np.arange(1, 5, dtype="float32").reshape(1, 1, 2, 2)  # ||w||^2 = 30
    d = Linear(w)
    x = paddle.randn([3, 1, 2, 2])
    x.stop_gradient = False
    assert abs(float(losses.r1_penalty(d(x), x)) - 30.0) < 1e-4
    assert abs(float(losses.r2_penalty(d(x), x)) - 30.0) < 1e-4
    gp = losses.gradient_penalty(d, paddle.randn([3, 1, 2, 2]), paddle.randn([3, 1, 2, 2]), target=1.0, weight=10.0)
    assert abs(float(gp) - 10.0 * (math.sqrt(30.0) - 1.0) ** 2) < 1e-3


def test_path_length_penalty_exact_on_linear_generator():
    # image = latents @ A (per sample): J^T y is known -> path length |A y| with the given noise
    paddle.seed(0)
    lat = paddle.randn([2, 3, 4])
    lat.stop_gradient = False
    a = paddle.to_tensor(np.eye(4, dtype="float32") * 2.0)
    img = paddle.matmul(lat, a).reshape([2, 1, 3, 4])  # H*W = 12
    y = paddle.ones([2, 1, 3, 4]) / math.sqrt(12)
    penalty, mean_len, new_mean = losses.path_length_penalty(img, lat, paddle.to_tensor(1.0), decay=0.5, pl_noise=y)
    # grad wrt latents = 2 / sqrt(12) everywhere; sum over the 4 dims, mean over 3 layers -> 16/12
    length = math.sqrt(4 * (2 / math.sqrt(12)) ** 2)
    assert abs(float(mean_len) - length) < 1e-5
    assert abs(float(new_mean) - (1.0 + 0.5 * (length - 1.0))) < 1e-5
    assert abs(float(penalty) - (length - float(new_mean)) ** 2) < 1e-5
