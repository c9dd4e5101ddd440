"""Modulated convolution with optional demodulation (StyleGAN2 paper, eqs. 1-3).

    w'_{n,o,i,k} = s_{n,i} * w_{o,i,k}                                   (1) modulation
    sigma_{n,o}  = sqrt(sum_{i,k} w'_{n,o,i,k}^2 + eps)                    (2)
    w''          = w' / sigma                                              (3) demodulation

Three implementations, all returning the same numbers:

* ``modulated_conv2d_ref``: eqs. 1-3 literally, one grouped conv per batch (groups = N) and,
  for upsampling, a grouped ``conv2d_transpose`` followed by the FIR blur, as in ppgan.
  Not twice differentiable on Paddle CPU (conv2d_transpose): tests only.
* ``fused=True``: the same per-sample weights, but the stride-2 transposed conv is computed as
  four polyphase ordinary convolutions, so it is twice differentiable.
* ``fused=False`` (NVlabs' training path): scale the activations by s, run ONE conv with the
  shared weight, multiply the output by 1/sigma computed as ``rsqrt(s^2 @ sum_k w^2)``.
  A 1x1 conv without resampling and with fewer outputs than pixels (ToRGB) is one batched matmul
  with the per-sample weights ``[N, O, I]`` instead: no pass over the activations, no conv call.

``gain`` multiplies the result (folded into the ``[N, O]`` demodulation coefficients, or the
``[N, I]`` styles): the generator's activation gain costs no pass of its own.

Resampling (``up``/``down`` = 2) follows ppgan: up = transposed conv (stride 2) then blur
with the kernel times 4; down = blur then a stride-2 conv.
"""
import paddle
import paddle.nn.functional as F

from .polyphase import conv_transpose2x
from .precision import float32_scope, like

DEMOD_EPS = 1e-8


def demod_coefficients(weight, styles):
    """1/sigma of eq. (2) for a shared weight ``[O, I, k, k]`` and styles ``[N, I]`` -> ``[N, O]``.

    ``sigma^2 = sum_{i,k} s_i^2 w_{o,i,k}^2`` as one matmul over the ``I * k * k`` axis: the styles'
    squares repeated ``k * k`` times against ``w^2 [O, I*k*k]`` (no separate sum over k: 1.5x faster).
    """
    o, i = weight.shape[0], weight.shape[1]
    taps = weight.shape[2] * weight.shape[3]
    s2 = paddle.square(styles)
    if taps > 1:
        s2 = s2.unsqueeze(-1).expand([s2.shape[0], i, taps]).reshape([-1, i * taps])
    return paddle.rsqrt(paddle.matmul(s2, paddle.square(weight).reshape([o, -1]), transpose_y=True) + DEMOD_EPS)


def per_sample_weights(weight, styles, demodulate, gain=1.0):
    """Eqs. (1)-(3): ``[N, O, I, k, k]`` weights from ``[O, I, k, k]`` and ``[N, I]``, times ``gain``."""
    w = weight.unsqueeze(0) * styles.unsqueeze(1).unsqueeze(-1).unsqueeze(-1)
    if demodulate:
        w = w * paddle.rsqrt((w * w).sum(axis=[2, 3, 4], keepdim=True) + DEMOD_EPS)
    return w * gain if gain != 1 else w


def _resampled_conv(x, weight, groups, up, down, blur, padding):
    """Conv with the ppgan resampling order; ``blur`` is the FIR layer (or None)."""
    if up:
        return blur(conv_transpose2x(x, weight, groups))
    if down:
        return F.conv2d(blur(x), weight, stride=2, groups=groups)
    return F.conv2d(x, weight, padding=padding, groups=groups)


def modulated_conv2d(x, weight, styles, demodulate=True, up=False, down=False, blur=None, padding=0,
                     fused=False, gain=1.0):
    """Fast modulated conv, times ``gain``. x ``[N, I, H, W]``, weight ``[O, I, k, k]`` (scaled),
    styles ``[N, I]``."""
    n, cin, h, w = x.shape
    out_c, w_in, k, _ = weight.shape
    assert cin == w_in and styles.shape[-1] == cin, \
        f"modulated_conv2d: x {x.shape}, weight {weight.shape}, styles {styles.shape}"
    n = -1 if not isinstance(n, int) or n < 0 else n  # static graphs: unknown batch
    hw = h * w if isinstance(h, int) and isinstance(w, int) and min(h, w) > 0 else None
    if k == 1 and not (up or down) and hw and out_c <= hw:  # per-sample weights smaller than the activations
        wn = per_sample_weights(weight, styles, demodulate, gain)
        out = paddle.matmul(wn.reshape([n, out_c, cin]), x.reshape([n, cin, hw]))
        return out.reshape([n, out_c, h, w])
    if gain != 1 and not demodulate:
        styles, gain = styles * gain, 1.0
    if not fused:
        x = x * like(styles, x).reshape([n, cin, 1, 1])
        out = _resampled_conv(x, weight, 1, up, down, blur, padding)
        if demodulate:
            with float32_scope():  # (mixed precision: the sums of squares in float32, as NVlabs)
                coef = demod_coefficients(weight, styles)
            out = out * like(coef * gain if gain != 1 else coef, out).reshape([n, out_c, 1, 1])
        return out
    wn = per_sample_weights(weight, styles, demodulate, gain).reshape([n * out_c, cin, k, k])
    out = _resampled_conv(x.reshape([1, n * cin, h, w]), wn, n, up, down, blur, padding)
    return out.reshape([n, out_c, out.shape[2], out.shape[3]])


def modulated_conv2d_ref(x, weight, styles, demodulate=True, up=False, down=False, blur=None, padding=0):
    """Reference: eqs. (1)-(3) and ppgan's grouped conv / conv2d_transpose (not twice differentiable)."""
    n, cin, h, w = x.shape
    out_c, _, k, _ = weight.shape
    wn = per_sample_weights(weight, styles, demodulate)  # [N, O, I, k, k]
    xg = x.reshape([1, n * cin, h, w])
    if up:
        wt = wn.transpose([0, 2, 1, 3, 4]).reshape([n * cin, out_c, k, k])
        out = F.conv2d_transpose(xg, wt, stride=2, padding=0, groups=n)
        out = blur(out.reshape([n, out_c, out.shape[2], out.shape[3]]))
        return out
    wn = wn.reshape([n * out_c, cin, k, k])
    if down:
        xb = blur(x)
        out = F.conv2d(xb.reshape([1, n * cin, xb.shape[2], xb.shape[3]]), wn, stride=2, groups=n)
    else:
        out = F.conv2d(xg, wn, padding=padding, groups=n)
    return out.reshape([n, out_c, out.shape[2], out.shape[3]])
