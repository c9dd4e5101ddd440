"""SWD: ProGAN's definition (independent patch positions per set) against a loop-by-loop hand computation,
the paired variant at 0 for identical sets and monotone in a known perturbation; usable as a ppgan metric."""
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


def progan_swd_by_hand(real, fake, patch_size, per_image, dir_repeats, dirs_per_repeat, seed):
    """One pyramid level (images at min_res), written out loop by loop: positions drawn for the real set, then
    independently for the fake set; each set's descriptors normalised per channel over all its patches;
    mean over direction batches of mean |sorted projections| differences; x1e3."""
    rng = np.random.RandomState(seed)

    def descriptors(images):
        n, c, h, w = images.shape
        ys = rng.randint(0, h - patch_size + 1, size=(n, per_image))
        xs = rng.randint(0, w - patch_size + 1, size=(n, per_image))
        patches = []
        for i in range(n):
            for k in range(per_image):
                patches.append(images[i, :, ys[i, k]:ys[i, k] + patch_size, xs[i, k]:xs[i, k] + patch_size])
        patches = np.array(patches, dtype=np.float64)
        for ch in range(c):
            patches[:, ch] = (patches[:, ch] - patches[:, ch].mean()) / (patches[:, ch].std() + 1e-8)
        return patches.reshape(len(patches), -1)

    a, b = descriptors(real), descriptors(fake)
    repeats = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs = dirs / np.linalg.norm(dirs, axis=0, keepdims=True)
        total = 0.0
        for j in range(dirs_per_repeat):
            total += np.abs(np.sort(a @ dirs[:, j]) - np.sort(b @ dirs[:, j])).mean()
        repeats.append(total / dirs_per_repeat)
    return float(np.mean(repeats)) * 1e3


def test_swd_follows_progan_definition_by_hand():
    real, fake = faces(6, size=16, seed=0), faces(6, size=16, seed=3)
    kwargs = dict(patch_size=7, dir_repeats=3, dirs_per_repeat=16, seed=11)
    ours = swd(real, fake, min_res=16, patches_per_image=5, **kwargs)
    hand = progan_swd_by_hand(real, fake, per_image=5, **kwargs)
    assert len(ours["levels"]) == 1 and abs(ours["mean"] - hand) < 1e-6 * hand


def test_identical_sets_sit_at_the_noise_floor_and_paired_at_zero():
    real = faces()
    progan = swd(real, real.copy())
    assert progan["mean"] > 1.0 and len(progan["levels"]) == 2  # independent positions: the estimator's noise
    assert swd(real, real.copy(), paired=True)["mean"] < 1e-6


def test_paired_swd_is_monotone_in_noise():
    real = faces()
    rng = np.random.RandomState(1)
    noise = rng.standard_normal(real.shape).astype("float32")
    values = [swd(real, real + s * noise, paired=True)["mean"] for s in (0.05, 0.2, 0.5, 1.0)]
    assert values[0] > 1.0
    assert all(a < b for a, b in zip(values, values[1:])), values
    # an independent draw of the same distribution is much closer than a corrupted set
    other = swd(real, faces(seed=5), paired=True)["mean"]
    assert other < values[-1]
    assert swd(real, real + 1.0 * noise)["mean"] > swd(real, real.copy())["mean"]  # ProGAN's too


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
    assert swd(real, real + 0.3, paired=True)["mean"] < 1e-3
    assert abs(swd(real, real + 0.3)["mean"] - swd(real, real.copy())["mean"]) < 1e-3
