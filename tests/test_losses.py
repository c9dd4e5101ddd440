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
    ("relativistic", (sp(2.0 - 0.5) + sp(-1.0 + 3.0)) / 2),  # RpGAN: softplus(D(x) - D(G(z))) per pair
])
def test_generator_losses(name, want):
    loss = losses.G_LOSSES[name]
    assert loss.needs_real == (name == "relativistic")
    real = t(REAL) if loss.needs_real else None
    assert abs(float(loss.fn(real, t(FAKE))) - want) < 1e-6


def test_discriminator_losses():
    real, fake = t(REAL), t(FAKE)
    logistic = ((sp(0.5) + sp(-2.0)) + (sp(-3.0) + sp(1.0))) / 2
    assert abs(float(losses.d_logistic(real, fake)) - logistic) < 1e-6
    wgan = ((0.5 - 2.0 + 0.001 * 4.0) + (-3.0 + 1.0 + 0.001 * 1.0)) / 2
    assert abs(float(losses.d_wgan(real, fake)) - wgan) < 1e-6
    hinge = ((max(0, 1 + 0.5) + max(0, 1 - 2.0)) + (max(0, 1 - 3.0) + max(0, 1 + 1.0))) / 2
    assert abs(float(losses.d_hinge(real, fake)) - hinge) < 1e-6
    relativistic = (sp(0.5 - 2.0) + sp(-3.0 + 1.0)) / 2  # softplus(D(G(z)) - D(x)) per pair
    assert abs(float(losses.D_LOSSES["relativistic"].fn(real, fake)) - relativistic) < 1e-6
    assert set(losses.D_LOSSES) == {"logistic", "wgan", "wgan_gp", "hinge", "hinge_gp", "relativistic"}


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


# ----------------------------------------------------------------------------- the path-length gradient
# A tiny generator whose Jacobian depends on its weights and on w: image = tanh(w @ A), so path lengths differ per
# sample and the penalty's gradient with respect to A is a real second-order quantity. float64 throughout.
N, L, D, P = 6, 2, 3, 4
OLD, DECAY = 0.7, 0.3


def _tiny_batch():
    rng = np.random.RandomState(1)
    a = paddle.to_tensor(rng.standard_normal([D, P]) * 0.8)
    a.stop_gradient = False
    lat = paddle.to_tensor(rng.standard_normal([N, L, D]))
    noise = paddle.to_tensor(rng.standard_normal([N, 1, L, P]) / math.sqrt(L * P))
    return a, lat, noise


def _image(a, lat):
    lat = lat.detach()
    lat.stop_gradient = False
    n = lat.shape[0]  # (a 2-d matmul: Paddle 2.6's double grad of a broadcast matmul keeps the broadcast dim)
    return paddle.tanh(paddle.matmul(lat.reshape([n * L, D]), a)).reshape([n, 1, L, P]), lat


def _nvlabs_penalty(a, lat, noise, detach_mean=False):
    """NVlabs' formula written out: pl_mean = lerp(old, lengths.mean(), decay), penalty mean((lengths - pl_mean)^2)."""
    img, lat = _image(a, lat)
    lengths = losses.path_lengths(img, lat, noise)
    mean = lengths.mean().detach() if detach_mean else lengths.mean()
    pl_mean = OLD + DECAY * (mean - OLD)
    return ((lengths - pl_mean) ** 2).mean()


def _grad(loss, a):
    (g,) = paddle.grad(loss, a)
    return g.numpy()


def test_path_length_gradient_flows_through_the_batch_mean_as_nvlabs():
    a, lat, noise = _tiny_batch()
    img, lat_g = _image(a, lat)
    penalty, mean, new_mean = losses.path_length_penalty(img, lat_g, paddle.to_tensor(OLD, dtype="float64"),
                                                         DECAY, noise)
    ours = _grad(penalty, a)
    want = _grad(_nvlabs_penalty(a, lat, noise), a)
    # (float64, but Paddle 2.6 applies Python scalars through float32 attributes: agreement to ~1e-8 there)
    assert abs(float(penalty) - float(_nvlabs_penalty(a, lat, noise))) < 1e-7
    np.testing.assert_allclose(ours, want, rtol=1e-6, atol=1e-9)
    detached = _grad(_nvlabs_penalty(a, lat, noise, detach_mean=True), a)
    assert np.abs(detached - want).max() > 1e-3 * np.abs(want).max()  # the difference the test guards against
    # and NVlabs' formula is the derivative of its objective (central finite differences on A)
    eps, base = 1e-6, a.numpy()
    fd = np.zeros_like(base)
    for idx in np.ndindex(*base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fd[idx] = (float(_nvlabs_penalty(paddle.to_tensor(plus), lat, noise)) -
                   float(_nvlabs_penalty(paddle.to_tensor(minus), lat, noise))) / (2 * eps)
    np.testing.assert_allclose(want, fd, rtol=1e-5, atol=1e-8)
    assert abs(float(new_mean) - (OLD + DECAY * (float(mean) - OLD))) < 1e-7


@pytest.mark.parametrize("split", ["ranks", "micro-batches"])
def test_path_length_gradient_of_a_split_batch_equals_one_batch(split):
    """Two ranks (each all-reduces its mean: the other's is a constant; gradients are averaged over ranks) or two
    micro-batches (the whole batch's mean known beforehand; gradients summed with the parts' shares) give the
    gradient of one process over the whole batch."""
    a, lat, noise = _tiny_batch()
    halves = [slice(0, N // 2), slice(N // 2, N)]
    means = []
    for h in halves:
        img, lat_g = _image(a, lat[h])
        means.append(float(losses.path_lengths(img, lat_g, noise[h]).mean()))
    total = np.zeros([D, P])
    for r, h in enumerate(halves):
        img, lat_g = _image(a, lat[h])
        if split == "ranks":  # all_mean: this rank's (detached) mean and the other rank's
            penalty, mean, new_mean = losses.path_length_penalty(
                img, lat_g, OLD, DECAY, noise[h], batch_mean=lambda m, other=means[1 - r]: (m + other) / 2)
        else:
            penalty, mean, new_mean = losses.path_length_penalty(img, lat_g, OLD, DECAY, noise[h],
                                                                 global_mean=paddle.to_tensor(np.mean(means)))
        total += _grad(penalty, a) * 0.5  # averaged over ranks / each micro-batch's share
        assert abs(float(mean) - np.mean(means)) < 1e-7
    np.testing.assert_allclose(total, _grad(_nvlabs_penalty(a, lat, noise), a), rtol=1e-6, atol=1e-9)
