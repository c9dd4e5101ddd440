"""Equalized-learning-rate layers (ProGAN section 4.1).

Weights are stored as N(0, 1) / lr_mul and scaled at run time by ``gain * lr_mul / sqrt(fan_in)``,
so that Adam's per-parameter step is the same for every layer. Layouts follow ppgan:
linear weight ``[in, out]``, conv weight ``[out, in, k, k]``.
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..core.compat import write_
from .bias_act import add_channel_bias, bias_leaky_relu


def scaled(x, factor):
    """``x * factor``. In a static graph (an export) as a multiply by a constant tensor: Paddle Inference's oneDNN
    passes (3.3.1, CPU) fold a ``scale`` op next to a matmul into a fused matmul, fuse the following add into it,
    and ``matmul_activation_fuse_pass`` then crashes on the activation (a segmentation fault in
    ``create_predictor``; tests/test_export.py has the minimal layer)."""
    if paddle.in_dynamic_mode():
        return x * factor
    return paddle.multiply(x, paddle.full([1], factor, x.dtype))


class EqualLinear(nn.Layer):
    """Dense layer with equalized lr; ``activation='fused_lrelu'`` adds the gained leaky ReLU."""

    def __init__(self, in_dim, out_dim, bias=True, bias_init=0.0, lr_mul=1.0, activation=None, gain=1.0):
        super().__init__()
        if activation not in (None, "fused_lrelu", "lrelu"):
            raise ValueError(f"EqualLinear: activation must be None or 'fused_lrelu', got {activation!r}")
        self.weight = self.create_parameter((in_dim, out_dim), default_initializer=nn.initializer.Normal())
        if lr_mul != 1:
            write_(self.weight, self.weight / lr_mul)
        self.bias = (self.create_parameter((out_dim,), default_initializer=nn.initializer.Constant(bias_init))
                     if bias else None)
        self.activation = activation
        self.lr_mul = lr_mul
        self.scale = gain * lr_mul / math.sqrt(in_dim)

    def forward(self, x):
        # (x @ W) * scale: the scale on the [N, out] product, not on the [in, out] weight (fewer elements)
        out = scaled(paddle.matmul(x, self.weight), self.scale)
        bias = None if self.bias is None else (self.bias * self.lr_mul if self.lr_mul != 1 else self.bias)
        if self.activation:
            return bias_leaky_relu(out, bias)
        return out if bias is None else out + bias

    def extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}, lr_mul={self.lr_mul}, activation={self.activation}"


class EqualConv2D(nn.Layer):
    """2-D convolution with equalized lr (weight ``[out, in, k, k]``)."""

    def __init__(self, in_channel, out_channel, kernel_size, stride=1, padding=0, bias=True, gain=1.0):
        super().__init__()
        self.weight = self.create_parameter((out_channel, in_channel, kernel_size, kernel_size),
                                            default_initializer=nn.initializer.Normal())
        self.bias = (self.create_parameter((out_channel,), default_initializer=nn.initializer.Constant(0.0))
                     if bias else None)
        self.scale = gain / math.sqrt(in_channel * kernel_size * kernel_size)
        self.stride = stride
        self.padding = padding

    def forward(self, x):
        out = F.conv2d(x, self.weight * self.scale, stride=self.stride, padding=self.padding)
        return out if self.bias is None else add_channel_bias(out, self.bias)

    def extra_repr(self):
        o, i, k, _ = self.weight.shape
        return f"{i}, {o}, {k}, stride={self.stride}, padding={self.padding}"
