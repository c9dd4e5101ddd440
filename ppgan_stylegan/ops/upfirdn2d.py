"""FIR up/down-sampling: upsample by zero insertion, pad, convolve with a FIR filter, downsample.

``upfirdn2d(x, f, up, down, pad)`` follows NVlabs' / rosinality's definition, for every channel
independently:

    y = downsample( conv2d( pad( zero_insert(x, up), pad ), flip(f) ), down )

* ``upfirdn2d_ref``: the definition, literally (zero insertion by concatenation, explicit padding,
  a stride-1 single-channel convolution, strided slicing). The reference in tests, and the fallback
  for what the fast path does not cover (up > 2, up with down, non-square kernels with up).
* ``upfirdn2d`` (fast path): one single-channel convolution on ``[N*C, 1, H, W]`` with the padding
  and the down-sampling stride inside the conv; ``up=2`` is the stride-2 transposed convolution
  with the (unflipped) kernel, then cropped. Only ops with double gradients on Paddle CPU (conv2d,
  reshape, slice, pad, and the polyphase transposed conv inside ``double_backward()``).
* ``upfirdn2d_separable`` (CPU fast path of ``FIRFilter`` for 1-D taps): a separable filter is a linear
  map along each axis, so ``y = M_h x M_w^T`` with the two ``[out, in]`` matrices of the 1-D operation
  (``fir_matrix``), i.e. two matmuls. Paddle's CPU conv runs a single-channel conv as one small GEMM per
  image (N*C of them); the matmuls are 5-40x faster up to 256 px (measured, docs/benchmarks.md), and
  twice differentiable.
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .polyphase import conv_transpose2x

MATRIX_MAX_SIZE = 256  # FIRFilter uses the matrix path on CPU up to this height / width (measured crossover)


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


def _kernel_tensor(kernel, dtype):
    if isinstance(kernel, (np.ndarray, list, tuple)):
        return paddle.to_tensor(np.asarray(kernel, dtype=np.float32)).astype(dtype)
    return kernel.astype(dtype)


# ----------------------------------------------------------------------------- reference path

def upfirdn2d_ref(x, kernel, up=1, down=1, pad=(0, 0)):
    """Literal definition. ``kernel``: 2-D Tensor or array (already normalised, gain included)."""
    x0, x1, y0, y1 = _as_pad4(pad)
    n, c, h, w = x.shape
    kernel = _kernel_tensor(kernel, x.dtype)
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

def _crop_pad(x, y0, y1, x0, x1):
    """Pad (positive) / crop (negative) the last two axes."""
    if min(y0, y1, x0, x1) < 0:
        x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    if max(y0, y1, x0, x1) > 0:
        x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    return x


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0), flipped=None):
    """Fast upfirdn2d. ``kernel`` 2-D (gain included); ``flipped``: optional cached ``[1,1,kh,kw]`` flip."""
    x0, x1, y0, y1 = _as_pad4(pad)
    _, c, h, w = x.shape
    kernel = _kernel_tensor(kernel, x.dtype)
    kh, kw = kernel.shape
    if up != 1 and not (up == 2 and down == 1 and kh == kw):
        return upfirdn2d_ref(x, kernel, up, down, pad)  # not covered by the fast path
    y = x.reshape([-1, 1, h, w])  # every channel of every sample is one single-channel image
    if up == 2:
        # y_out[i] = convT(x, kernel)[i + k - 1 - pad0]; length 2h + pad0 + pad1 - k + 1
        z = conv_transpose2x(y, kernel.reshape([1, 1, kh, kw]))
        sy, sx = kh - 1 - y0, kw - 1 - x0
        out_h, out_w = 2 * h + y0 + y1 - kh + 1, 2 * w + x0 + x1 - kw + 1
        z = _crop_pad(z, -sy, out_h + sy - z.shape[2], -sx, out_w + sx - z.shape[3])
        return z.reshape([-1, c, out_h, out_w])
    if min(x0, x1, y0, y1) < 0:
        y = _crop_pad(y, min(y0, 0), min(y1, 0), min(x0, 0), min(x1, 0))
        x0, x1, y0, y1 = max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)
    weight = flipped if flipped is not None else paddle.flip(kernel, [0, 1]).reshape([1, 1, kh, kw])
    out = F.conv2d(y, weight, padding=[y0, y1, x0, x1], stride=down)
    return out.reshape([-1, c, out.shape[2], out.shape[3]])


def fir_matrix(length, taps, up=1, down=1, pad=(0, 0)):
    """The 1-D upfirdn of a signal of ``length`` samples as a ``[out, length]`` float32 matrix.

    Column j is the response to a unit impulse at j: zero insertion, padding (negative: crop), correlation
    with the flipped taps, every ``down``-th sample."""
    taps = np.asarray(taps, dtype=np.float64)
    z = np.zeros([length * up, length])
    z[::up] = np.eye(length)
    z = np.pad(z, ((max(pad[0], 0), max(pad[1], 0)), (0, 0)))
    z = z[max(-pad[0], 0):z.shape[0] - max(-pad[1], 0)]
    n_out = z.shape[0] - len(taps) + 1
    if n_out <= 0:
        raise ValueError(f"upfirdn: {length} samples with up={up}, pad={pad} are shorter than {len(taps)} taps")
    out = sum(z[t:t + n_out] * taps[len(taps) - 1 - t] for t in range(len(taps)))
    return np.ascontiguousarray(out[::down]).astype(np.float32)


def upfirdn2d_separable(x, mat_h, mat_w):
    """``M_h x M_w^T`` for every channel: x ``[N, C, H, W]``, ``mat_h [H', H]``, ``mat_w [W', W]``."""
    n, c, h, w = x.shape
    assert mat_h.shape[1] == h and mat_w.shape[1] == w, \
        f"upfirdn2d_separable: x {x.shape}, matrices {mat_h.shape} / {mat_w.shape}"
    y = paddle.matmul(x.reshape([-1, w]), mat_w, transpose_y=True)  # [N*C*H, W']
    y = paddle.matmul(mat_h, y.reshape([-1, h, mat_w.shape[0]]))  # [N*C, H', W']
    return y.reshape([-1, c, mat_h.shape[0], mat_w.shape[0]])


# ----------------------------------------------------------------------------- layers

class FIRFilter(nn.Layer):
    """Blur / resample layer: ``upfirdn2d`` with a fixed kernel.

    The normalised 2-D kernel (times ``gain``) is a buffer named ``kernel``; ``persistable``
    controls whether it appears in the state dict (ppgan keeps it for ToRGB's upsampler only).
    ``impl``: ``"fast"`` (on CPU, 1-D taps and images up to ``MATRIX_MAX_SIZE``: the separable matrices;
    otherwise the conv fast path), ``"conv"`` (always the conv fast path) or ``"ref"`` (the definition).
    """

    def __init__(self, kernel, pad, up=1, down=1, gain=1.0, persistable=False, impl="fast"):
        super().__init__()
        if impl not in ("fast", "conv", "ref"):
            raise ValueError(f"FIRFilter: impl must be 'fast', 'conv' or 'ref', got {impl!r}")
        k = make_kernel(kernel, gain)
        taps = np.asarray(kernel, dtype=np.float64)
        # separable: the 2-D kernel is outer(t, t) with t = taps / sum(taps) * sqrt(gain)
        self.taps = taps / taps.sum() * np.sqrt(gain) if taps.ndim == 1 and gain >= 0 else None
        self._matrices = {}
        self.register_buffer("kernel", paddle.to_tensor(k), persistable=persistable)
        self.register_buffer("kernel_flipped", paddle.to_tensor(np.ascontiguousarray(k[::-1, ::-1])[None, None]),
                             persistable=False)
        self.pad = _as_pad4(pad)
        self.up, self.down = up, down
        self.impl = impl

    def _use_matrices(self, x):
        return (self.impl == "fast" and self.taps is not None and paddle.in_dynamic_mode()
                and max(x.shape[2], x.shape[3]) <= MATRIX_MAX_SIZE and "cpu" in str(x.place).lower())

    def matrices(self, h, w, dtype):
        """The cached ``(M_h, M_w)`` for an ``h x w`` input."""
        key = (h, w, str(dtype))
        if key not in self._matrices:
            x0, x1, y0, y1 = self.pad
            self._matrices[key] = tuple(
                paddle.to_tensor(fir_matrix(n, self.taps, self.up, self.down, p)).astype(dtype)
                for n, p in ((h, (y0, y1)), (w, (x0, x1))))
        return self._matrices[key]

    def forward(self, x):
        if self.impl == "ref":
            return upfirdn2d_ref(x, self.kernel, self.up, self.down, self.pad)
        if self._use_matrices(x):
            return upfirdn2d_separable(x, *self.matrices(x.shape[2], x.shape[3], x.dtype))
        return upfirdn2d(x, self.kernel, self.up, self.down, self.pad, flipped=self.kernel_flipped)

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
