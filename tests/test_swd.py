"""SWD: ~0 for identical sets, grows monotonically with a known perturbation; usable as a ppgan metric."""
import numpy as np
import paddle
from ppgan.metrics.builder import build_metric

from ppgan_stylegan.metrics import laplacian_pyramid, swd


def faces(n=48, size=32, seed=0):
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    imgs = []
    for _ in range(n):
        cx, cy, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.2, 0.35)
        disk = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r).astype("float32")
        imgs.append(np.stack([disk * rng.uniform(0.3, 1)] * 3) * 2 - 1)
    return np.stack(imgs).astype("float32")


def test_laplacian_pyramid_reconstructs():
    from ppgan_stylegan.metrics.swd import pyr_up
    x = faces(4)
    levels = laplacian_pyramid(x, 2)
    assert [lv.shape[-1] for lv in levels] == [32, 16]
    assert np.allclose(levels[0] + pyr_up(levels[1]), x, atol=1e-5)


def test_swd_zero_for_identical_sets_and_monotone_in_noise():
    real = faces()
    same = swd(real, real.copy())
    assert same["mean"] < 1e-6 and len(same["levels"]) == 2
    rng = np.random.RandomState(1)
    noise = rng.standard_normal(real.shape).astype("float32")
    values = [swd(real, real + s * noise)["mean"] for s in (0.05, 0.2, 0.5, 1.0)]
    assert values[0] > 1.0
    assert all(a < b for a, b in zip(values, values[1:])), values
    # an independent draw of the same distribution is much closer than a corrupted set
    other = swd(real, faces(seed=5))["mean"]
    assert other < values[-1]


def test_swd_as_ppgan_metric():
    metric = build_metric({"name": "SWD"})
    real = faces(32)
    fake = real + 0.3 * np.random.RandomState(2).standard_normal(real.shape).astype("float32")
    for i in range(0, 32, 8):
        metric.update(paddle.to_tensor(fake[i:i + 8]), paddle.to_tensor(real[i:i + 8]))
    value = metric.accumulate()
    assert value == metric.last and value > 1.0
    assert abs(value - swd(real, fake)["mean"]) < 1e-6


def test_swd_ignores_a_global_shift_like_progan():
    # ProGAN normalises each set's descriptors separately: a constant offset is invisible
    real = faces(16)
    assert swd(real, real + 0.3)["mean"] < 1e-3
