"""FIR up/down-sampling: upsample by zero insertion, pad, convolve with a FIR filter, downsample.

``upfirdn2d(x, f, up, down, pad)`` follows NVlabs' / rosinality's definition, for every channel
independently:

    y = downsample( conv2d( pad( zero_insert(x, up), pad ), flip(f) ), down )

Two implementations:

* ``upfirdn2d_ref``: the definition, literally (one 2-D single-channel convolution on
  ``[N*C, 1, H, W]``, strided slicing for the downsampling). Any 2-D kernel.
* ``upfirdn2d`` (fast path): for separable kernels, one 1-D pass per axis written as a weighted
  sum of shifted slices; downsampling evaluates only the kept outputs (polyphase). It uses only
  ops whose double gradient Paddle registers on CPU (slice, stack/reshape, pad, add, multiply),
  so R1 and path-length penalties can differentiate through it twice.
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


def _as_pad4(pad):
    """(p0, p1) -> (x0, x1, y0, y1); 4-tuples pass through."""
    if len(pad) == 2:
        return (pad[0], pad[1], pad[0], pad[1])
    if len(pad) == 4:
        return tuple(pad)
    raise ValueError(f"upfirdn2d: pad must have 2 or 4 entries, got {pad!r}")


def make_kernel(k, gain=1.0):
    """Normalised 2-D FIR kernel (numpy float32) from 1-D taps (outer product) or a 2-D array."""
    k = np.asarray(k, dtype=np.float64)
    if k.ndim == 1:
        k = np.outer(k, k)
    if k.ndim != 2:
        raise ValueError(f"FIR kernel must be 1-D or 2-D, got shape {k.shape}")
    return (k / k.sum() * gain).astype(np.float32)


def separable_taps(k, gain=1.0):
    """1-D taps whose outer product equals ``make_kernel(k, gain)``; None if ``k`` is 2-D."""
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 1:
        return None
    return tuple(float(v) for v in k / k.sum() * np.sqrt(gain))


# ----------------------------------------------------------------------------- reference path

def upfirdn2d_ref(x, kernel, up=1, down=1, pad=(0, 0)):
    """Literal definition. ``kernel``: 2-D Tensor or array (already normalised, gain included)."""
    x0, x1, y0, y1 = _as_pad4(pad)
    n, c, h, w = x.shape
    kernel = paddle.to_tensor(np.asarray(kernel, dtype=np.float32)) if not isinstance(kernel, paddle.Tensor) \
        else kernel.astype(x.dtype)
    kh, kw = kernel.shape
    out = x.reshape([n * c, 1, h, 1, w, 1])
    if up > 1:
        out = paddle.concat([out, paddle.zeros([n * c, 1, h, up - 1, w, 1], x.dtype)], axis=3)
        out = paddle.concat([out, paddle.zeros([n * c, 1, h, up, w, up - 1], x.dtype)], axis=5)
    out = out.reshape([n * c, 1, h * up, w * up])
    out = F.pad(out, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    out = out[:, :, max(-y0, 0):out.shape[2] - max(-y1, 0), max(-x0, 0):out.shape[3] - max(-x1, 0)]
    out = F.conv2d(out, paddle.flip(kernel, [0, 1]).reshape([1, 1, kh, kw]))
    out = out[:, :, ::down, ::down]
    return out.reshape([n, c, out.shape[2], out.shape[3]])


# ----------------------------------------------------------------------------- fast path

def _slice(x, axis, start, stop):
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _pad_axis(x, axis, p0, p1):
    """Zero-pad (positive) or crop (negative) one spatial axis of an NCHW tensor."""
    if p0 < 0 or p1 < 0:
        x = _slice(x, axis, max(-p0, 0), x.shape[axis] - max(-p1, 0))
        p0, p1 = max(p0, 0), max(p1, 0)
    if p0 == 0 and p1 == 0:
        return x
    pads = [0, 0, p0, p1] if axis == 2 else [p0, p1, 0, 0]
    return F.pad(x, pads)


def _zero_insert(x, axis, up):
    """[.., L, ..] -> [.., L*up, ..] with up-1 zeros after every sample."""
    shape = list(x.shape)
    x = paddle.stack([x] + [paddle.zeros_like(x)] * (up - 1), axis=axis + 1)
    shape[axis] *= up
    return x.reshape(shape)


def _phase(x, axis, down, phase):
    """Samples phase, phase+down, ... of one axis (length must be a multiple of down)."""
    shape = list(x.shape)
    shape[axis:axis + 1] = [shape[axis] // down, down]
    index = [slice(None)] * len(shape)
    index[axis + 1] = phase
    return x.reshape(shape)[tuple(index)]


def _fir_axis(x, taps, axis, up, down, p0, p1):
    """1-D upfirdn along ``axis``; ``taps`` in convolution order (flipped here)."""
    if up > 1:
        x = _zero_insert(x, axis, up)
    x = _pad_axis(x, axis, p0, p1)
    corr = taps[::-1]
    k = len(corr)
    length = x.shape[axis]
    n_out = (length - k) // down + 1
    if down == 1:
        out = None
        for t, c in enumerate(corr):
            term = _slice(x, axis, t, t + n_out) * c
            out = term if out is None else out + term
        return out
    # polyphase: y[j] = sum_t c[t] * x[down*j + t] = sum_t c[t] * phase_{t % down}[j + t // down]
    need = down * (n_out + (k - 1) // down)
    x = _pad_axis(x, axis, 0, need - length) if need > length else _slice(x, axis, 0, need)
    phases = [_phase(x, axis, down, p) for p in range(down)]
    out = None
    for t, c in enumerate(corr):
        q = t // down
        term = _slice(phases[t % down], axis, q, q + n_out) * c
        out = term if out is None else out + term
    return out


def upfirdn2d(x, taps, up=1, down=1, pad=(0, 0)):
    """Fast separable upfirdn2d. ``taps``: 1-D taps per axis (gain split evenly over the axes)."""
    x0, x1, y0, y1 = _as_pad4(pad)
    out = _fir_axis(x, taps, 2, up, down, y0, y1)
    return _fir_axis(out, taps, 3, up, down, x0, x1)


# ----------------------------------------------------------------------------- layers

class FIRFilter(nn.Layer):
    """Blur / resample layer: ``upfirdn2d`` with a fixed kernel.

    The normalised 2-D kernel (times ``gain``) is a buffer named ``kernel``; ``persistable``
    controls whether it appears in the state dict (ppgan keeps it for ToRGB's upsampler only).
    """

    def __init__(self, kernel, pad, up=1, down=1, gain=1.0, persistable=False, impl="fast"):
        super().__init__()
        self.register_buffer("kernel", paddle.to_tensor(make_kernel(kernel, gain)), persistable=persistable)
        self.taps = separable_taps(kernel, gain)
        self.pad = _as_pad4(pad)
        self.up, self.down = up, down
        self.impl = impl

    def forward(self, x):
        if self.impl == "ref" or self.taps is None:
            return upfirdn2d_ref(x, self.kernel, self.up, self.down, self.pad)
        return upfirdn2d(x, self.taps, self.up, self.down, self.pad)

    def extra_repr(self):
        return f"up={self.up}, down={self.down}, pad={self.pad}"


def upsample_pad(kernel_len, factor=2):
    """Padding that makes ``upfirdn2d(up=factor)`` return exactly ``factor`` x the input size."""
    p = kernel_len - factor
    return ((p + 1) // 2 + factor - 1, p // 2)


def downsample_pad(kernel_len, factor=2):
    """Padding that makes ``upfirdn2d(down=factor)`` return exactly input size / ``factor``."""
    p = kernel_len - factor
    return ((p + 1) // 2, p // 2)
