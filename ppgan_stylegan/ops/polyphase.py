"""Stride-2 transposed convolution, with a twice-differentiable path for Paddle CPU.

Paddle registers no double gradient for ``conv2d_transpose`` on CPU, so a path-length penalty
through an upsampling generator crashes there (ppgan's does). ``conv_transpose2x`` dispatches:

* ``F.conv2d_transpose`` (the fastest: measured 1.8x the polyphase path for the demo generator's
  forward + backward) unless a double backward was announced;
* ``conv_transpose2x_polyphase`` on CPU inside ``with double_backward():`` (the path-length step
  enters it around its generator pass): output phase (p, q) of a stride-2 transposed conv only
  sees kernel taps ``a = p, p+2, ...`` (rows) and ``b = q, q+2, ...`` (columns), so it is four
  ordinary convolutions with exact-size kernels (2x2, 2x1, 1x2, 1x1 for k = 3: the same 9 taps),
  interleaved. Only conv2d, matmul, concat, reshape and slicing: all twice differentiable on Paddle 2.6
  and 3.x (``paddle.stack`` is not: Paddle 2.6 has no gradient of ``stack_grad``, hence ``_stack``).
"""
import os
import threading

import numpy as np
import paddle
import paddle.nn.functional as F

from ..core.scoped import scoped_setting

_STATE = threading.local()


def double_backward(enabled=True):
    """Within this block, stride-2 transposed convs on CPU are built from ops with double gradients,
    so ``paddle.grad(..., create_graph=True)`` through a generator works (path length, R1 through G)."""
    return scoped_setting(_STATE, "double_backward", enabled)


def double_backward_enabled():
    return getattr(_STATE, "double_backward", False)


POLYPHASE_ENV = "PPGAN_STYLEGAN_POLYPHASE"  # 1: the polyphase path on every device (a GPU's cuDNN path avoided)


def polyphase_everywhere(enabled=True):
    """Within this block the double-backward path is the polyphase one on any device (on a GPU it is otherwise
    cuDNN's ``conv2d_transpose`` with its double gradient); ``PPGAN_STYLEGAN_POLYPHASE=1`` does it for a run."""
    return scoped_setting(_STATE, "polyphase", enabled)


def _polyphase_forced():
    forced = getattr(_STATE, "polyphase", None)
    return os.environ.get(POLYPHASE_ENV, "0") == "1" if forced is None else forced


def _phase_taps(k, p):
    """Kernel indices used by output phase p, in correlation order."""
    n = len(range(p, k, 2))
    return [p + 2 * (n - 1 - t) for t in range(n)]


def _phase_selector(k, rows, cols):
    """Constant 0/1 matrix ``[k*k, len(rows)*len(cols)]`` picking the phase taps out of a flat kernel."""
    sel = np.zeros([k * k, len(rows) * len(cols)], dtype="float32")
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            sel[r * k + c, i * len(cols) + j] = 1.0
    return sel


_SELECTORS = {}


def _stack(tensors, axis):
    """``paddle.stack`` as unsqueeze + concat, twice differentiable on every Paddle we support."""
    return paddle.concat([t.unsqueeze(axis) for t in tensors], axis=axis)


def conv_transpose2x_polyphase(x, weight, groups=1):
    """``conv2d_transpose(x, W, stride=2, padding=0, groups)`` from four ordinary convolutions.

    ``weight`` uses the *conv* layout ``[G*O, I, k, k]`` (a transposed conv applies it unflipped).
    Each phase kernel is ``flat(W) @ S`` with a constant selection matrix S, whose backward is one
    matmul (cheaper than index_select's scatter on large weights).
    """
    go, cin, k, kw = weight.shape
    assert k == kw, f"conv_transpose2x_polyphase: square kernels only, got {weight.shape}"
    n, _, h, w = x.shape
    nb = (k + 1) // 2
    flat = weight.reshape([go * cin, k * k])
    phases = []
    for p in (0, 1):
        rows = _phase_taps(k, p)
        row = []
        for q in (0, 1):
            cols = _phase_taps(k, q)
            if not rows or not cols:  # k = 1: odd phases see no tap
                row.append(paddle.zeros([n, go, h + nb - 1, w + nb - 1], x.dtype))
                continue
            key = (k, p, q, str(weight.dtype))
            if key not in _SELECTORS:
                _SELECTORS[key] = paddle.to_tensor(_phase_selector(k, rows, cols), dtype=weight.dtype)
            wpq = paddle.matmul(flat, _SELECTORS[key]).reshape([go, cin, len(rows), len(cols)])
            # top/left pad len(taps)-1, bottom/right nb-1: every phase has h+nb-1 rows, w+nb-1 columns
            row.append(F.conv2d(x, wpq, padding=[len(rows) - 1, nb - 1, len(cols) - 1, nb - 1], groups=groups))
        phases.append(_stack(row, axis=4))  # [N, C, H', W', 2(q)]
    y = _stack(phases, axis=3)  # [N, C, H', 2(p), W', 2(q)]
    c, hh, ww = y.shape[1], y.shape[2], y.shape[4]
    y = y.reshape([n, c, 2 * hh, 2 * ww])
    return y[:, :, :2 * (h - 1) + k, :2 * (w - 1) + k]


def conv_transpose2x(x, weight, groups=1):
    """Stride-2 transposed conv (conv-layout weight ``[G*O, I, k, k]``): fastest safe implementation."""
    if (double_backward_enabled() and paddle.in_dynamic_mode() and paddle.is_grad_enabled()
            and ("cpu" in str(x.place).lower() or _polyphase_forced())):
        return conv_transpose2x_polyphase(x, weight, groups)
    go, cin, k, _ = weight.shape
    # [G, O, I, k*k] -> [G, I, O, k*k]: with the taps merged, the copy is one 4-D transpose (Paddle 3 makes
    # a strided view; its conv kernel's own copy of a 5-D view costs 2.5 ms at 512x512x3x3, this one 1.1 ms)
    wt = weight.reshape([groups, go // groups, cin, k * k]).transpose([0, 2, 1, 3])
    wt = wt.contiguous() if hasattr(wt, "contiguous") else wt  # Paddle 2.6: transpose already copied
    return F.conv2d_transpose(x, wt.reshape([groups * cin, go // groups, k, k]), stride=2, groups=groups)
