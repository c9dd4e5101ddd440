"""FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) on InceptionV3 features.

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
from ppgan.metrics.inception import InceptionV3
from scipy import linalg

from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.images import three_channels
from ..core.nets import freeze
from ..core.state import load_into, load_state

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
    """``[N, dims]`` float64 features of images ``[N, C, H, W]`` in [-1, 1] (bilinear resize to input_size;
    grayscale / RGBA made RGB by ``core.images.three_channels``)."""
    feats = []
    with paddle.no_grad():
        for i in range(0, len(images), batch):
            x = images[i:i + batch]
            x = three_channels(x if isinstance(x, paddle.Tensor) else paddle.to_tensor(np.asarray(x, dtype="float32")))
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
