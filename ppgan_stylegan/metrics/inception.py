"""FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) on InceptionV3 features, and PPL (StyleGAN, 3.2).

The Inception network is ppgan's ``InceptionV3`` (the FID variant) with weights the user supplies:
ppgan's ``InceptionV3.pdparams`` (what ppgan's FID downloads). Nothing is downloaded; a missing file is a
one-line error. Real-set statistics (mean, covariance, features) can be cached to a ``.npz`` file whose
key records the images, the weights and the feature layer, so a changed dataset is never read from a
stale cache.
"""
import hashlib
import json
import os

import numpy as np
import paddle
import paddle.nn.functional as F
from ppgan.metrics.builder import METRICS
from ppgan.metrics.inception import InceptionV3
from scipy import linalg

from ..core.distributed import gather_rows
from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.nets import freeze
from ..core.state import load_into, load_state
from ..networks.perceptual import lpips_distance

FEATURE_DIMS = (64, 192, 768, 2048)


def load_inception(weights, dims=2048, option="inception_weights"):
    """ppgan's InceptionV3 (eval, frozen) returning ``dims``-d pooled features; weights from a file."""
    if dims not in FEATURE_DIMS:
        raise UserError(f"{option}: dims must be one of {FEATURE_DIMS}, got {dims!r}")
    if not weights or not os.path.isfile(str(weights)):
        raise UserError(f"{option} {weights!r}: no such file (FID / KID need ppgan's InceptionV3.pdparams; "
                        "nothing is downloaded at run time)")
    with paddle.utils.unique_name.guard():  # ppgan names its parameters: a fresh namespace per instance
        model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[dims]], resize_input=False, normalize_input=False)
    state = load_state(weights)
    load_into(model, {k: state[k] for k in model.state_dict() if k in state}, weights, ignore=(),
              what="ppgan's InceptionV3 (FID)")
    return freeze(model)


def inception_features(model, images, input_size=299, batch=32):
    """``[N, dims]`` float64 features of images ``[N, 3, H, W]`` in [-1, 1] (bilinear resize to input_size)."""
    feats = []
    with paddle.no_grad():
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            x = x if isinstance(x, paddle.Tensor) else paddle.to_tensor(np.asarray(x, dtype="float32"))
            if x.shape[2] != input_size:
                x = F.interpolate(x, size=[input_size, input_size], mode="bilinear", align_corners=False)
            out = model(x)[0][0]
            if out.shape[2:] != [1, 1]:  # an earlier block: spatially averaged (as pytorch-fid does)
                out = F.adaptive_avg_pool2d(out, 1)
            feats.append(out.reshape([out.shape[0], -1]).numpy().astype(np.float64))
    return np.concatenate(feats)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``, as pytorch-fid's ``calculate_frechet_distance``: a
    non-finite square root is retried with ``eps`` added to both diagonals; an imaginary part larger than
    1e-3 on the diagonal raises ValueError, a smaller one is dropped. (``scipy.linalg.sqrtm`` is called without
    its ``disp`` argument, deprecated in SciPy 1.17 and removed in 1.18.)"""
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():  # singular product: regularise both covariances slightly
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag))} in the covariance square root")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def stats(features):
    return features.mean(0), np.cov(features, rowvar=False)


def fid_from_features(real, fake):
    return frechet_distance(*stats(real), *stats(fake))


def polynomial_mmd_unbiased(x, y):
    """Unbiased MMD^2 with the kernel ``k(a, b) = (a.b / d + 1)^3``."""
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid_from_features(real, fake, subsets=100, subset_size=1000, seed=0):
    """Mean unbiased MMD^2 over ``subsets`` random subsets of ``min(subset_size, N)`` of each set (NVlabs'
    defaults: 100 subsets of 1000)."""
    rng = np.random.RandomState(seed)
    size = min(subset_size, len(real), len(fake))
    values = [polynomial_mmd_unbiased(real[rng.choice(len(real), size, replace=False)],
                                      fake[rng.choice(len(fake), size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values))


def file_sha256(path, limit=1 << 24):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(limit))
    h.update(str(os.path.getsize(path)).encode())
    return h.hexdigest()


def cached_real_features(paths, model, weights, dims, input_size, cache=None, load=None, batch=32):
    """Inception features of the images at ``paths``, read from / written to ``cache`` (.npz) when given.

    The cache key covers every file's name, size and modification time, the weights and the layer."""
    key = hashlib.sha256(json.dumps({
        "files": [(os.path.basename(p), os.path.getsize(p), int(os.path.getmtime(p))) for p in paths],
        "weights": file_sha256(weights), "dims": dims, "input_size": input_size}).encode()).hexdigest()
    if cache and os.path.isfile(cache):
        with np.load(cache) as data:
            if str(data["key"]) == key:
                return data["features"]
    feats = []
    for i in range(0, len(paths), batch):
        feats.append(inception_features(model, np.stack([load(p) for p in paths[i:i + batch]]), input_size, batch))
    feats = np.concatenate(feats)
    if cache:
        mu, sigma = stats(feats)

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, key=key, features=feats, mu=mu, sigma=sigma)
        atomic_write(cache, write)
    return feats


class _InceptionMetric(paddle.metric.Metric):
    """Collects (fake, real) batches; ``real_stats`` (a cache .npz) replaces the real images when given."""

    def __init__(self, inception_weights=None, dims=2048, input_size=299, real_stats=None):
        super().__init__()
        self.model = load_inception(inception_weights, dims)
        self.input_size, self.real_stats, self.last = input_size, real_stats, None
        if real_stats and not os.path.isfile(real_stats):
            raise UserError(f"real_stats {real_stats!r}: no such file (write it with tools/metrics.py --cache)")
        self.reset()

    def reset(self):
        self.fake, self.real = [], []

    def update(self, preds, gts):
        """Features of this rank's batch; under several ranks every rank collects the gathered batch."""
        self.fake.append(gather_rows(inception_features(self.model, preds, self.input_size)))
        if not self.real_stats:
            self.real.append(gather_rows(inception_features(self.model, gts, self.input_size)))

    def real_features(self):
        if self.real_stats:
            with np.load(self.real_stats) as data:
                return data["features"]
        return np.concatenate(self.real)

    def accumulate(self):
        self.last = self.compute(self.real_features(), np.concatenate(self.fake))
        self.reset()
        return self.last


@METRICS.register()
class FrechetInceptionDistance(_InceptionMetric):
    """FID between the generated and real images (ppgan METRICS name; ppgan's own ``FID`` downloads)."""

    def compute(self, real, fake):
        return fid_from_features(real, fake)

    def name(self):
        return "FID"


@METRICS.register()
class KernelInceptionDistance(_InceptionMetric):
    """KID x1e3 (unbiased polynomial-kernel MMD^2 averaged over subsets)."""

    def __init__(self, subsets=100, subset_size=1000, **kwargs):
        super().__init__(**kwargs)
        self.subsets, self.subset_size = subsets, subset_size

    def compute(self, real, fake):
        return kid_from_features(real, fake, self.subsets, self.subset_size) * 1e3

    def name(self):
        return "KID"


def perceptual_path_length(gen, num=1000, epsilon=1e-4, sampling="end", distance=None, batch=16, seed=0):
    """PPL in W (StyleGAN paper, eq. 3 in W): ``E[d(G(lerp(w0, w1, t)), G(lerp(w0, w1, t + eps))) / eps^2]``.

    ``sampling='end'``: t = 0; ``'full'``: t ~ U(0, 1). ``distance(a, b) -> [N]``: LPIPS when given, else the
    mean squared pixel difference (an offline stand-in: same protocol, not comparable to published PPL).
    Like NVlabs, the values outside the 1st-99th percentiles are dropped before averaging.
    """
    if sampling not in ("end", "full"):
        raise UserError(f"PPL sampling must be 'end' or 'full', got {sampling!r}")
    distance = distance or (lambda a, b: ((a - b) ** 2).mean(axis=[1, 2, 3]))
    rng = np.random.RandomState(seed)
    values = []
    with paddle.no_grad():
        for i in range(0, num, batch):
            n = min(batch, num - i)
            z = paddle.to_tensor(rng.standard_normal([2 * n, gen.style_dim]).astype("float32"))
            w = gen.get_latent(z)
            w0, w1 = w[:n], w[n:]
            t = paddle.to_tensor((np.zeros([n, 1]) if sampling == "end" else rng.uniform(0, 1, [n, 1])).astype("float32"))
            wa, wb = w0 + (w1 - w0) * t, w0 + (w1 - w0) * (t + epsilon)
            img, _ = gen([paddle.concat([wa, wb])], input_is_latent=True, noise="const")
            values.append((distance(img[:n], img[n:]) / epsilon ** 2).numpy().reshape(-1))
    values = np.concatenate(values).astype(np.float64)
    lo, hi = np.percentile(values, 1, method="lower"), np.percentile(values, 99, method="higher")
    return float(values[(values >= lo) & (values <= hi)].mean())


@METRICS.register()
class PerceptualPathLength(paddle.metric.Metric):
    """PPL of the model's gen_ema (the model hands it over with ``set_generator``); LPIPS with ``lpips_weights``."""

    def __init__(self, num=1000, epsilon=1e-4, sampling="end", lpips_weights=None, batch=16):
        super().__init__()
        self.kwargs = dict(num=num, epsilon=epsilon, sampling=sampling, batch=batch)
        self.distance = lpips_distance(lpips_weights, "lpips_weights") if lpips_weights else None
        self.generator, self.last = None, None

    def set_generator(self, generator):
        self.generator = generator

    def reset(self):
        pass

    def update(self, preds, gts):
        pass

    def accumulate(self):
        if self.generator is None:
            raise RuntimeError("PerceptualPathLength: the model did not hand over a generator")
        self.last = perceptual_path_length(self.generator, distance=self.distance, **self.kwargs)
        return self.last

    def name(self):
        return "PPL"
