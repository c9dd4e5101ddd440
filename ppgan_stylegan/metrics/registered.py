"""ppgan METRICS classes for ``validate.metrics`` in a YAML run: each collects batches (gathered over ranks, so
several ranks give one process's value) and computes through ``metrics.table``."""
import os

import numpy as np
import paddle
from ppgan.metrics.builder import METRICS

from ..core.distributed import gather_rows
from ..core.errors import UserError
from ..networks.perceptual import lpips_distance
from .inception import inception_features, load_inception
from .swd import as_numpy
from .table import METRIC_TABLE, Collected


class _InceptionMetric(paddle.metric.Metric):
    """Collects (fake, real) batches as Inception features; ``real_stats`` (a cache .npz) replaces the reals."""
    row = None  # the table's name of the metric
    options = {}

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
        collected = Collected(real_features=self.real_features(), fake_features=np.concatenate(self.fake))
        self.last = METRIC_TABLE[self.row].compute(collected, **self.options)
        self.reset()
        return self.last


@METRICS.register()
class FrechetInceptionDistance(_InceptionMetric):
    """FID between the generated and real images (ppgan METRICS name; ppgan's own ``FID`` downloads)."""
    row = "fid"

    def name(self):
        return "FID"


@METRICS.register()
class KernelInceptionDistance(_InceptionMetric):
    """KID x1e3 (unbiased polynomial-kernel MMD^2 averaged over subsets)."""
    row = "kid"

    def __init__(self, subsets=100, subset_size=1000, **kwargs):
        super().__init__(**kwargs)
        self.options = dict(subsets=subsets, subset_size=subset_size)

    def name(self):
        return "KID"


@METRICS.register()
class SWD(paddle.metric.Metric):
    """ppgan metric: collects (fake, real) batches in ``update``; ``accumulate`` returns the mean SWD x1e3
    (ProGAN's definition; ``paired: true`` for the low-noise variant)."""

    def __init__(self, min_res=16, patch_size=7, patches_per_image=128, dir_repeats=4, dirs_per_repeat=128, seed=0,
                 paired=False):
        super().__init__()
        self.options = dict(min_res=min_res, patch_size=patch_size, patches_per_image=patches_per_image,
                            dir_repeats=dir_repeats, dirs_per_repeat=dirs_per_repeat, seed=seed, paired=paired)
        self.last = None
        self.reset()

    def reset(self):
        self.fakes, self.reals = [], []

    def update(self, preds, gts):
        """Under several ranks every rank collects the whole (gathered) batch."""
        self.fakes.append(gather_rows(as_numpy(preds)))
        self.reals.append(gather_rows(as_numpy(gts)))

    def accumulate(self):
        collected = Collected(reals=np.concatenate(self.reals), fakes=np.concatenate(self.fakes))
        self.reset()
        self.last = METRIC_TABLE["swd"].compute(collected, **self.options)
        return self.last

    def name(self):
        return "SWD"


@METRICS.register()
class PerceptualPathLength(paddle.metric.Metric):
    """PPL of the model's gen_ema (the model hands it over with ``set_generator``); LPIPS with ``lpips_weights``."""

    def __init__(self, num=1000, epsilon=1e-4, sampling="end", lpips_weights=None, batch=16):
        super().__init__()
        self.options = dict(num=num, epsilon=epsilon, sampling=sampling, batch=batch)
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
        collected = Collected(generator=self.generator, distance=self.distance)
        self.last = METRIC_TABLE["ppl"].compute(collected, **self.options)
        return self.last

    def name(self):
        return "PPL"
