"""Differentiable augmentation before D (DiffAugment, Zhao et al. 2020) with an ADA-style probability.

Each transform of the policy is applied to each image independently with probability ``p``
(Karras et al. 2020, "ADA", section 2.2); ``p = 1`` is DiffAugment, ``p = 0`` is the identity. Real and
fake images go through the same transforms (with their own random parameters) before every D call.

Every op is twice differentiable on CPU (R1 through the augmentation): translations are products
with one-hot shift matrices, cutout a multiplicative mask, colour transforms elementwise.
"""
import numpy as np
import paddle

from ..core.distributed import rand_local
from ..core.checks import check_probability
from ..core.errors import ConfigError

POLICIES = ("color", "translation", "cutout")


def _apply_with_prob(x, augmented, p):
    """Per image: ``augmented`` with probability p, else ``x`` (differentiable in both)."""
    if p >= 1.0:
        return augmented
    mask = (rand_local([x.shape[0], 1, 1, 1]) < p).astype(x.dtype)
    return x + mask * (augmented - x)


def shift_matrices(shifts, size):
    """``[N, size, size]`` one-hot matrices T with ``(T v)[i] = v[i - s]`` (zero where out of range), built on the
    device (``shifts``: integers, a tensor or an array)."""
    if not isinstance(shifts, paddle.Tensor):
        shifts = paddle.to_tensor(np.asarray(shifts, dtype="int64"))
    rows = paddle.arange(size, dtype="int64")
    return (rows.reshape([1, size, 1]) - shifts.astype("int64").reshape([-1, 1, 1]) ==
            rows.reshape([1, 1, size])).astype("float32")


def translate(x, dy, dx):
    """Shift image n by (dy[n], dx[n]) pixels with zero fill: ``T_y x T_x^T`` (fast path)."""
    ty, tx = shift_matrices(dy, x.shape[2]), shift_matrices(dx, x.shape[3])
    return paddle.matmul(paddle.matmul(ty.unsqueeze(1), x), tx.unsqueeze(1), transpose_y=True)


def translate_reference(x, dy, dx):
    """Plain NumPy version of ``translate``."""
    x = np.asarray(x)
    out = np.zeros_like(x)
    h, w = x.shape[2:]
    for n in range(x.shape[0]):
        for i in range(h):
            for j in range(w):
                si, sj = i - dy[n], j - dx[n]
                if 0 <= si < h and 0 <= sj < w:
                    out[n, :, i, j] = x[n, :, si, sj]
    return out


def random_translation(x, ratio=0.125):
    """Shift each image by up to ``ratio`` of its size (rounded to pixels), zero fill. The random draws stay
    on the device: no host synchronisation."""
    h, w = x.shape[2:]
    u = rand_local([x.shape[0], 2])
    dy = paddle.round((u[:, 0] * 2 - 1) * (ratio * h)).astype("int64")
    dx = paddle.round((u[:, 1] * 2 - 1) * (ratio * w)).astype("int64")
    return translate(x, dy, dx)


def random_cutout(x, ratio=0.5):
    """Zero one square of side ``ratio * size`` at a random centre per image (drawn on the device)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    u = rand_local([n, 2])
    cy = paddle.floor(u[:, 0] * (h + 1 - ch % 2)).reshape([n, 1, 1])
    cx = paddle.floor(u[:, 1] * (w + 1 - cw % 2)).reshape([n, 1, 1])
    ys = paddle.arange(h, dtype="float32").reshape([1, h, 1])
    xs = paddle.arange(w, dtype="float32").reshape([1, 1, w])
    inside = paddle.logical_and((ys - cy).abs() < ch / 2, (xs - cx).abs() < cw / 2)
    return x * paddle.logical_not(inside).astype(x.dtype).unsqueeze(1)


def random_color(x):
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (DiffAugment's ranges); on the colour channels
    only (RGBA: alpha kept)."""
    if x.shape[1] == 4:
        return paddle.concat([random_color(x[:, :3]), x[:, 3:]], axis=1)
    n = x.shape[0]
    x = x + (rand_local([n, 1, 1, 1]) - 0.5)
    mean = x.mean(axis=1, keepdim=True)
    x = (x - mean) * (rand_local([n, 1, 1, 1]) * 2) + mean
    mean = x.mean(axis=[1, 2, 3], keepdim=True)
    return (x - mean) * (rand_local([n, 1, 1, 1]) + 0.5) + mean


TRANSFORMS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}


def parse_policy(policy):
    names = [p.strip() for p in str(policy).split(",") if p.strip()]
    bad = [p for p in names if p not in TRANSFORMS]
    if bad or not names:
        raise ConfigError(f"model.augment.policy: expected a comma-separated subset of {', '.join(POLICIES)}, "
                          f"got {policy!r}")
    return names


def augment(x, policy=POLICIES, p=1.0):
    """Apply each transform of ``policy`` to each image with probability ``p``."""
    if p <= 0:
        return x
    for name in policy:
        x = _apply_with_prob(x, TRANSFORMS[name](x), p)
    return x


class AdaptiveAugment:
    """ADA's controller: every ``interval`` iterations ``p += sign(r_t - target) * images / (kimg * 1000)``,
    with ``r_t = E[sign(D(real))]`` over those iterations (all ranks), clipped to [0, 1]."""

    def __init__(self, policy="color,translation,cutout", p=0.0, target=None, interval=4, kimg=100):
        self.policy = parse_policy(policy)
        check_probability("model.augment.p", p)
        if target is not None and not 0 < target < 1:
            raise ConfigError(f"model.augment.target: expected a value in (0, 1), got {target!r}")
        self.p, self.target, self.interval, self.kimg = float(p), target, int(interval), float(kimg)
        self.sign_sum, self.count, self.images, self.last_rt = 0.0, 0, 0, None
        self.pending = None  # this iteration's sum of signs, on the device

    def __call__(self, x):
        return augment(x, self.policy, self.p)

    def accumulate(self, real_pred, global_batch, all_sum=lambda v: v):
        """Record D's outputs on (augmented) reals of the global batch (``all_sum`` over ranks); call once per
        iteration. The sum stays on the device until ``record`` (the model reads it with its other per-iteration
        values) or ``adjust`` reads it."""
        if self.target is None:
            return
        signs = all_sum(paddle.sign(real_pred.detach()).sum().reshape([1])).reshape([])
        self.pending = signs if self.pending is None else self.pending + signs
        self.count += global_batch
        self.images += global_batch

    def record(self, sign_sum):
        """The pending sum of signs, read on the host by the caller."""
        self.sign_sum += float(sign_sum)
        self.pending = None

    def adjust(self, iteration):
        """Every ``interval`` iterations: move p towards the target overfitting level."""
        if self.target is None or iteration % self.interval != 0 or self.count == 0:
            return
        if self.pending is not None:
            self.record(self.pending.numpy())
        self.last_rt = self.sign_sum / self.count
        step = np.sign(self.last_rt - self.target) * self.images / (self.kimg * 1000)
        self.p = float(np.clip(self.p + step, 0.0, 1.0))
        self.sign_sum, self.count, self.images = 0.0, 0, 0

    def state(self):
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "images": self.images}

    def load(self, state):
        self.p = float(state["p"])
        self.sign_sum, self.count, self.images = float(state["sign_sum"]), int(state["count"]), int(state["images"])
