"""Bias + leaky ReLU with a gain, as used after every StyleGAN2 conv and dense layer.

``y = leaky_relu(x + b, slope) * gain`` with ``gain = sqrt(2)`` so that the activation
keeps unit variance for unit-variance inputs (StyleGAN2 paper, appendix B).
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


def _bias_shape(x, bias):
    return [1, bias.shape[0]] + [1] * (x.ndim - 2)


def bias_leaky_relu(x, bias=None, negative_slope=0.2, gain=2 ** 0.5):
    """Fast path: Paddle's leaky_relu kernel on ``x + b`` (bias broadcast on axis 1)."""
    if bias is not None:
        x = x + bias.reshape(_bias_shape(x, bias))
    out = F.leaky_relu(x, negative_slope)
    return out * gain if gain != 1 else out


def bias_leaky_relu_ref(x, bias=None, negative_slope=0.2, gain=2 ** 0.5):
    """Reference path: the formula written out with elementary ops."""
    if bias is not None:
        x = x + bias.reshape(_bias_shape(x, bias))
    return paddle.where(x >= 0, x, x * negative_slope) * gain


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
