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
    """``[N, size, size]`` one-hot matrices T with ``(T v)[i] = v[i - s]`` (zero where out of range)."""
    rows = np.arange(size)
    mats = (rows[None, :, None] - shifts[:, None, None] == rows[None, None, :]).astype("float32")
    return paddle.to_tensor(mats)


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
    h, w = x.shape[2:]
    u = rand_local([x.shape[0], 2]).numpy()
    dy = np.round((u[:, 0] * 2 - 1) * ratio * h).astype(int)
    dx = np.round((u[:, 1] * 2 - 1) * ratio * w).astype(int)
    return translate(x, dy, dx)


def random_cutout(x, ratio=0.5):
    """Zero one square of side ``ratio * size`` at a random centre per image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    u = rand_local([n, 2]).numpy()
    cy = (u[:, 0] * (h + 1 - ch % 2)).astype(int)
    cx = (u[:, 1] * (w + 1 - cw % 2)).astype(int)
    ys, xs = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = (np.abs(ys - cy[:, None, None]) < ch / 2) & (np.abs(xs - cx[:, None, None]) < cw / 2)
    return x * paddle.to_tensor((~inside).astype("float32")[:, None])


def random_color(x):
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (DiffAugment's ranges)."""
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

    def __call__(self, x):
        return augment(x, self.policy, self.p)

    def accumulate(self, real_pred, global_batch):
        """Record D's outputs on (augmented) reals; call once per iteration."""
        if self.target is None:
            return
        self.sign_sum += float(paddle.sign(real_pred.detach()).sum())
        self.count += real_pred.shape[0]
        self.images += global_batch

    def adjust(self, iteration, all_sum=lambda v: v):
        """Every ``interval`` iterations: move p towards the target overfitting level."""
        if self.target is None or iteration % self.interval != 0 or self.count == 0:
            return
        totals = all_sum(paddle.to_tensor([self.sign_sum, float(self.count)])).numpy()
        self.last_rt = float(totals[0] / totals[1])
        step = np.sign(self.last_rt - self.target) * self.images / (self.kimg * 1000)
        self.p = float(np.clip(self.p + step, 0.0, 1.0))
        self.sign_sum, self.count, self.images = 0.0, 0, 0

    def state(self):
        return {"p": self.p, "sign_sum": self.sign_sum, "count": self.count, "images": self.images}

    def load(self, state):
        self.p = float(state["p"])
        self.sign_sum, self.count, self.images = float(state["sign_sum"]), int(state["count"]), int(state["images"])
