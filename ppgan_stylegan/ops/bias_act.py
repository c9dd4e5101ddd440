"""Bias + leaky ReLU with a gain, as used after every StyleGAN2 conv and dense layer.

``y = leaky_relu(x + b, slope) * gain`` with ``gain = sqrt(2)`` so that the activation
keeps unit variance for unit-variance inputs (StyleGAN2 paper, appendix B).

Per-channel adds are written for Paddle's CPU kernels: ``x + b.reshape([1, C, 1, 1])`` on a 4-D
tensor takes Paddle's generic broadcast loop (measured 15x slower forward, 7x with backward, than the
same add as ``[N, C, H*W] + [C, 1]``; docs/benchmarks.md), so ``add_channel_bias`` reshapes first.
In the generator, noise and bias are one matmul: ``[C, 2] @ [N, 2, H*W]`` with rows ``(b_c, 1)`` and
``(1, strength * noise)`` gives ``b_c + strength * noise`` for every channel; x is added into that product and
the activation applied in place (eager mode): 0.4 ms less per 512-channel 32 px layer than new tensors.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


def _flat_shape(x):
    """``[N, C, H*W]`` for a 4-D (or any N-D) tensor; the batch may be unknown (-1) in static graphs."""
    rest = 1
    for d in x.shape[2:]:
        rest *= d
    return [-1, x.shape[1], rest]


def _restore(y, x):
    return y.reshape([-1] + list(x.shape[1:]))


def add_channel_bias(x, bias):
    """``x + bias`` along axis 1 (bias ``[C]``)."""
    if x.ndim <= 2:
        return x + bias
    return _restore(x.reshape(_flat_shape(x)) + bias.reshape([-1, 1]), x)


def _leaky(x, negative_slope, gain):
    if paddle.in_dynamic_mode() or not 0 <= negative_slope <= 1:
        out = F.leaky_relu(x, negative_slope)
    else:  # exported graphs: paddle2onnx 2.1.0 writes leaky_relu's slope as garbage (alpha 4e-16 for 0.2)
        out = paddle.maximum(x, x * negative_slope)  # the same function for 0 <= slope <= 1
    return out * gain if gain != 1 else out


def bias_leaky_relu(x, bias=None, negative_slope=0.2, gain=2 ** 0.5):
    """Fast path: Paddle's leaky_relu kernel on ``x + b`` (bias broadcast on axis 1)."""
    if bias is not None:
        x = add_channel_bias(x, bias)
    return _leaky(x, negative_slope, gain)


def bias_leaky_relu_ref(x, bias=None, negative_slope=0.2, gain=2 ** 0.5):
    """Reference path: the formula written out with elementary ops."""
    if bias is not None:
        x = x + bias.reshape([1, bias.shape[0]] + [1] * (x.ndim - 2))
    return paddle.where(x >= 0, x, x * negative_slope) * gain


def noise_bias_leaky_relu(x, noise, strength, bias, negative_slope=0.2, gain=2 ** 0.5, x_scaled=False):
    """``leaky_relu(x + strength * noise + bias) * gain``; x ``[N, C, H, W]``, noise ``[N or 1, 1, H, W]``,
    strength ``[1]`` (StyleGAN2) or ``[C]`` (StyleGAN v1), bias ``[C]`` (noise injection followed by the fused
    bias activation).

    ``x_scaled=True``: x already holds ``gain * x`` (the modulated conv folds the gain into its
    coefficients); as ``leaky_relu(g * v) = g * leaky_relu(v)`` for ``g > 0``, the ``[C, 2]`` columns are
    scaled instead of the output, saving one pass over the activations.
    """
    n, c = x.shape[0], x.shape[1]
    flat = _flat_shape(x)
    noise = noise.reshape([-1, 1, flat[2]])
    if not paddle.in_dynamic_mode():  # exported graphs: plain broadcast adds (see _static_noise_bias)
        return _restore(_static_noise_bias(x.reshape(flat), noise, strength, bias, negative_slope, gain, x_scaled), x)
    if noise.shape[0] == 1 and isinstance(n, int) and n > 1:
        noise = noise.expand([n, 1, flat[2]])
    if strength.shape[0] == 1:  # one strength per layer (StyleGAN2)
        rows = paddle.concat([paddle.ones_like(noise), noise * strength], axis=1)  # [N, 2, HW]
        cols = paddle.concat([bias.reshape([c, 1]), paddle.ones([c, 1], bias.dtype)], axis=1)  # [C, 2]
    else:  # one per channel (StyleGAN v1): the strengths are the second column
        rows = paddle.concat([paddle.ones_like(noise), noise], axis=1)
        cols = paddle.concat([bias.reshape([c, 1]), strength.reshape([c, 1])], axis=1)
    if x_scaled:
        assert gain > 0, f"noise_bias_leaky_relu: x_scaled needs a positive gain, got {gain}"
        cols, gain = cols * gain, 1
    out = paddle.matmul(cols, rows)  # a fresh [N, C, HW] buffer: add and activate in place
    out.add_(x.reshape(flat) if x.dtype == out.dtype else x.reshape(flat).astype(out.dtype))
    out = F.leaky_relu_(out, negative_slope)
    return _restore(out * gain if gain != 1 else out, x)


def _static_noise_bias(x, noise, strength, bias, negative_slope, gain, x_scaled):
    """The static-graph form of ``noise_bias_leaky_relu`` on ``x [N, C, HW]``, ``noise [N or 1, 1, HW]``: broadcast
    adds instead of the ``[C, 2] @ [N, 2, HW]`` matmul. Paddle Inference's oneDNN pass
    ``matmul_elementwise_add_fuse_pass`` fuses that batch-broadcast matmul with the add of x into a fused matmul
    that computes a wrong result, and ``matmul_activation_fuse_pass`` then crashes on it (Paddle 3.3.1, CPU)."""
    c = bias.shape[0]
    per_channel = strength.reshape([-1, 1]) if strength.shape[0] != 1 else strength
    added = bias.reshape([c, 1]) + noise * per_channel
    if x_scaled:  # x holds gain * x: leaky_relu(g * v) = g * leaky_relu(v) for g > 0
        return _leaky(x + added * gain, negative_slope, 1)
    return _leaky(x + added, negative_slope, gain)


class BiasLeakyReLU(nn.Layer):
    """Learned per-channel bias followed by a gained leaky ReLU (ppgan's ``FusedLeakyReLU``)."""

    def __init__(self, channels, bias=True, negative_slope=0.2, gain=2 ** 0.5):
        super().__init__()
        self.bias = (self.create_parameter((channels,), default_initializer=nn.initializer.Constant(0.0))
                     if bias else None)
        self.negative_slope = negative_slope
        self.gain = gain

    def forward(self, x):
        return bias_leaky_relu(x, self.bias, self.negative_slope, self.gain)
