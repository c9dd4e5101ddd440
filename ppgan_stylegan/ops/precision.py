"""Mixed precision as NVlabs runs it (stylegan2-ada-pytorch: ``num_fp16_res``, ``conv_clamp``).

Only the convolutions of the highest-resolution blocks compute in float16; the mapping network, the affine
style layers, the demodulation coefficients, the RGB image and D's epilogue stay float32, and (when
``conv_clamp`` is set) every conv layer's output is clamped to ``[-conv_clamp, conv_clamp]`` so that a float16
activation cannot overflow (NVlabs clamp after the gained activation: 256 by default with mixed precision).

The switch is ours, not a model-wide ``paddle.amp.auto_cast``: ``mixed_precision(True)`` allows float16, and a
block opens ``float16_scope(True)`` (Paddle's O1 autocast, with ``conv2d_transpose`` added to its float16 list)
only around its own layers. Paddle runs no float16 kernel on a CPU and ignores autocast there; the scopes are still
entered, so which layer would compute in float16 is checked on the CPU by the tracer's AMP level (tests/test_amp.py).
"""
import contextlib
import math
import threading

import paddle

from ..core.scoped import scoped_setting

FLOAT16_OPS = {"conv2d_transpose"}  # not on Paddle's O1 float16 list: the generator's up-sampling convs
_STATE = threading.local()


def mixed_precision(enabled=True):
    """Within the block, networks run their float16 blocks in float16 (``enabled``) or everything in float32."""
    return scoped_setting(_STATE, "allowed", bool(enabled))


def float16_allowed():
    return getattr(_STATE, "allowed", False)


def float16_scope(enabled):
    """Paddle's O1 autocast around one block when mixed precision is allowed and ``enabled``; else nothing."""
    if not (enabled and float16_allowed()):
        return contextlib.nullcontext()
    return paddle.amp.auto_cast(enable=True, level="O1", custom_white_list=FLOAT16_OPS)


def float32_scope():
    """float32 inside a float16 block (demodulation coefficients); nothing when mixed precision is off."""
    return paddle.amp.auto_cast(enable=False) if float16_allowed() else contextlib.nullcontext()


def float16_min_resolution(size, amp_resolutions):
    """The lowest resolution computed in float16 when the ``amp_resolutions`` highest resolutions are (NVlabs:
    ``max(2 ** (log2(size) + 1 - num_fp16_res), 8)``); infinity for 0 (all float32)."""
    if amp_resolutions <= 0:
        return math.inf
    return max(2 ** (int(math.log2(size)) + 1 - int(amp_resolutions)), 8)


def clamp(x, limit):
    """``x`` clipped to ``[-limit, limit]`` (``conv_clamp``); unchanged when ``limit`` is None."""
    return x if limit is None else paddle.clip(x, -float(limit), float(limit))


def like(t, x):
    """``t`` in ``x``'s dtype (a float32 style / coefficient multiplied into float16 activations stays float16:
    Paddle's O1 would otherwise promote the product to float32)."""
    return t if t.dtype == x.dtype else t.astype(x.dtype)


def as_float32(x):
    return x if x.dtype == paddle.float32 else x.astype("float32")
