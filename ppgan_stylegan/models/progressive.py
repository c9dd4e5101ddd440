"""Progressive growing (ProGAN / StyleGAN v1): the training schedule, the reals at a level of detail, and the
optimizer reset when a new layer enters.

``ProgressiveSchedule`` follows NVlabs' ``training_schedule`` (stylegan, training/training_loop.py): from the
images seen it gives the level of detail ``lod`` (``log2(size) - log2(lod_initial_resolution)`` at the start,
one level down per ``lod_training_kimg + lod_transition_kimg``, fading linearly during the transition), the
resolution in training, the minibatch, the two learning rates (ramped up over ``lrate_rampup_kimg``) and the
tick length. ``process_reals`` is NVlabs' ``process_reals`` after the dataset's mip level: the reals averaged
down to the current resolution, cross-faded with the next coarser level, nearest-upsampled back to full size.
"""
import math

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle.optimizer.lr import LRScheduler

from ..core.checks import check_number, require
from ..core.compat import write_
from ..core.config import check_kwargs
from ..core.errors import ConfigError
from ..ops import nearest_upsample

TICK_KIMG = {4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20}


def _resolution_dict(where, value):
    """``{resolution: number}`` from YAML (keys may arrive as strings)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of resolution -> value, got {value!r}")
    out = {}
    for key, v in value.items():
        try:
            res = int(key)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: key {key!r} is not a resolution")
        require(res >= 4 and res & (res - 1) == 0, f"{where}: key {key!r} is not a power of two >= 4")
        check_number(f"{where}[{res}]", v, low=0)
        out[res] = v
    return out


class ProgressiveSchedule:
    """NVlabs' ``training_schedule`` with its arguments and defaults; ``schedule(cur_nimg)`` -> dict."""

    def __init__(self, lod_initial_resolution=4, lod_training_kimg=600, lod_transition_kimg=600, minibatch_base=16,
                 minibatch_dict=None, max_minibatch_per_gpu=None, G_lrate_base=0.001, G_lrate_dict=None,
                 D_lrate_base=0.001, D_lrate_dict=None, lrate_rampup_kimg=0, tick_kimg_base=160, tick_kimg_dict=None,
                 reset_opt_for_new_lod=True, minibatch_repeats=4):
        where = "model.progressive"
        for name, value in [("lod_training_kimg", lod_training_kimg), ("lod_transition_kimg", lod_transition_kimg),
                            ("lrate_rampup_kimg", lrate_rampup_kimg), ("G_lrate_base", G_lrate_base),
                            ("D_lrate_base", D_lrate_base), ("tick_kimg_base", tick_kimg_base)]:
            check_number(f"{where}.{name}", value, low=0)
        check_number(f"{where}.lod_initial_resolution", lod_initial_resolution, low=1)
        check_number(f"{where}.minibatch_base", minibatch_base, low=1)
        check_number(f"{where}.minibatch_repeats", minibatch_repeats, low=1)
        self.lod_initial_resolution = lod_initial_resolution
        self.lod_training_kimg, self.lod_transition_kimg = lod_training_kimg, lod_transition_kimg
        self.minibatch_base = int(minibatch_base)
        self.minibatch_dict = _resolution_dict(f"{where}.minibatch_dict", minibatch_dict)
        self.max_minibatch_per_gpu = _resolution_dict(f"{where}.max_minibatch_per_gpu", max_minibatch_per_gpu)
        self.G_lrate_base, self.D_lrate_base = G_lrate_base, D_lrate_base
        self.G_lrate_dict = _resolution_dict(f"{where}.G_lrate_dict", G_lrate_dict)
        self.D_lrate_dict = _resolution_dict(f"{where}.D_lrate_dict", D_lrate_dict)
        self.lrate_rampup_kimg = lrate_rampup_kimg
        self.tick_kimg_base = tick_kimg_base
        self.tick_kimg_dict = TICK_KIMG if tick_kimg_dict is None else _resolution_dict(f"{where}.tick_kimg_dict",
                                                                                        tick_kimg_dict)
        self.reset_opt_for_new_lod = bool(reset_opt_for_new_lod)
        self.minibatch_repeats = int(minibatch_repeats)

    @classmethod
    def from_config(cls, block):
        return cls(**check_kwargs("model.progressive", block, cls))

    def __call__(self, cur_nimg, resolution_log2, num_gpus=1):
        """The schedule after ``cur_nimg`` images for a network of ``2 ** resolution_log2`` pixels."""
        kimg = cur_nimg / 1000.0
        phase_dur = self.lod_training_kimg + self.lod_transition_kimg
        phase_idx = int(np.floor(kimg / phase_dur)) if phase_dur > 0 else 0
        phase_kimg = kimg - phase_idx * phase_dur
        lod = resolution_log2 - np.floor(np.log2(self.lod_initial_resolution)) - phase_idx
        if self.lod_transition_kimg > 0:
            lod -= max(phase_kimg - self.lod_training_kimg, 0.0) / self.lod_transition_kimg
        lod = max(float(lod), 0.0)
        resolution = 2 ** (resolution_log2 - int(np.floor(lod)))
        minibatch = self._minibatch(resolution, num_gpus)
        g_lrate = self.G_lrate_dict.get(resolution, self.G_lrate_base)
        d_lrate = self.D_lrate_dict.get(resolution, self.D_lrate_base)
        if self.lrate_rampup_kimg > 0:
            rampup = min(kimg / self.lrate_rampup_kimg, 1.0)
            g_lrate, d_lrate = g_lrate * rampup, d_lrate * rampup
        return {"kimg": kimg, "lod": lod, "resolution": resolution, "minibatch": minibatch,
                "G_lrate": g_lrate, "D_lrate": d_lrate,
                "tick_kimg": self.tick_kimg_dict.get(resolution, self.tick_kimg_base)}

    def _minibatch(self, resolution, num_gpus):
        minibatch = self.minibatch_dict.get(resolution, self.minibatch_base)
        minibatch -= minibatch % num_gpus
        if resolution in self.max_minibatch_per_gpu:
            minibatch = min(minibatch, self.max_minibatch_per_gpu[resolution] * num_gpus)
        return int(minibatch)

    def max_minibatch(self, resolution_log2, num_gpus=1):
        """The largest minibatch any resolution of this run uses."""
        first = resolution_log2 - int(np.floor(np.log2(self.lod_initial_resolution)))
        return max(self._minibatch(2 ** (resolution_log2 - lod), num_gpus) for lod in range(max(first, 0) + 1))


def new_layer_entered(lod, prev_lod):
    """NVlabs' test for ``reset_opt_for_new_lod``: the integer bracket of ``lod`` changed."""
    return math.floor(lod) != math.floor(prev_lod) or math.ceil(lod) != math.ceil(prev_lod)


def reset_optimizer_state(optimizer):
    """Back to a fresh optimizer's state (NVlabs' ``reset_optimizer_state``): moments zero, Adam's beta powers at
    their initial values; parameters and learning rate untouched."""
    initial = {"beta1_pow": getattr(optimizer, "_beta1", 0.9), "beta2_pow": getattr(optimizer, "_beta2", 0.999)}
    for name, per_param in optimizer._accumulators.items():
        start = next((float(v) for key, v in initial.items() if name.startswith(key)), 0.0)
        for acc in per_param.values():
            write_(acc, paddle.full(acc.shape, start, acc.dtype))


def process_reals(x, lod):
    """Reals ``[N, C, size, size]`` at level of detail ``lod``: 2x2-averaged ``floor(lod)`` times, cross-faded with
    the next coarser level by ``lod - floor(lod)``, nearest-upsampled back to ``size``."""
    level = int(math.floor(lod))
    if level > 0:
        x = F.avg_pool2d(x, 2 ** level)
    alpha = lod - level
    if alpha > 0:
        coarser = nearest_upsample(F.avg_pool2d(x, 2))
        x = x + (coarser - x) * alpha
    return nearest_upsample(x, 2 ** level)


class ScheduledLR(LRScheduler):
    """The learning rate the schedule gives for one network (``'G_lrate'`` / ``'D_lrate'``) times ``scale`` (the
    lazy-regularisation ratio), read from ``source`` (a callable returning the current schedule dict)."""

    def __init__(self, source, key, scale=1.0):
        self.source, self.key, self.scale = source, key, scale
        super().__init__(learning_rate=float(source()[key]) * scale)

    def get_lr(self):
        return float(self.source()[self.key]) * self.scale

    def __call__(self):
        return self.get_lr()
