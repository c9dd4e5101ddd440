"""The table of generator metrics: one row per metric says what it needs (real images, Inception weights, the
generator itself) and how its value follows from what was collected. ppgan's METRICS classes
(``metrics/registered.py``, training validation) and the ``metrics`` command (``apps/metrics.py``) both compute
through it. Adding a metric: its formula in a module of its own, one row here, a registered class if YAML runs
should use it."""
from typing import Callable, NamedTuple, Optional

import numpy as np

from .inception import fid_from_features, kid_from_features
from .ppl import perceptual_path_length
from .swd import swd


class Collected(NamedTuple):
    """What a metric is computed from (each row reads what it needs): Inception features of the real and
    generated images, the images themselves ``[N, C, H, W]`` in [-1, 1], the generator and a per-sample image
    distance (LPIPS; None: pixel MSE)."""
    real_features: Optional[np.ndarray] = None
    fake_features: Optional[np.ndarray] = None
    reals: Optional[np.ndarray] = None
    fakes: Optional[np.ndarray] = None
    generator: object = None
    distance: Optional[Callable] = None


class Metric(NamedTuple):
    """``compute(collected, **options) -> float``; ``key(collected)``: the name its value is reported under."""
    name: str
    compute: Callable
    key: Callable
    needs_reals: bool = False
    needs_inception: bool = False


def _fid(c):
    return fid_from_features(c.real_features, c.fake_features)


def _kid(c, subsets=100, subset_size=1000):
    return kid_from_features(c.real_features, c.fake_features, subsets, subset_size) * 1e3


def _swd(c, **options):
    return swd(c.reals, c.fakes[:len(c.reals)], **options)["mean"]


def _ppl(c, **options):
    return perceptual_path_length(c.generator, distance=c.distance, **options)


METRIC_TABLE = {m.name: m for m in (
    Metric("fid", _fid, lambda c: "fid", needs_reals=True, needs_inception=True),
    Metric("kid", _kid, lambda c: "kid_x1e3", needs_reals=True, needs_inception=True),
    Metric("ppl", _ppl, lambda c: "ppl_w_end" + ("" if c.distance else "_pixel")),
    Metric("swd", _swd, lambda c: "swd_x1e3", needs_reals=True),
)}


def missing_inputs(metric, have_reals, have_inception):
    """Why ``metric`` cannot be computed with what was given (command-line wording), or None."""
    if metric.needs_inception and not have_inception:
        return "needs --inception-weights (ppgan's InceptionV3.pdparams; nothing is downloaded)"
    if metric.needs_reals and not have_reals:
        return "needs --real (a folder of real images)"
    return None
