"""StyleGAN2 residual discriminator (config E/F) with ppgan's state-dict keys and shapes."""
import math

import paddle.nn as nn
from ppgan.models.discriminators.builder import DISCRIMINATORS

from ...core.checks import check_image_channels, check_image_shape, check_int, check_size
from ...ops import (BiasLeakyReLU, EqualConv2D, EqualLinear, FIRFilter, as_float32, clamp, downsample_pad,
                    float16_scope, minibatch_stddev)
from ..blocks import LabelMapping, MixedPrecision, base_shape, channel_table


class ConvLayer(nn.Sequential):
    """[blur] -> equalized conv (stride 2 when downsampling) -> [bias + leaky ReLU].

    A Sequential so that keys match ppgan: ``0``/``1``/``2`` index blur, conv, activation.
    """

    def __init__(self, in_channel, out_channel, kernel_size, downsample=False, blur_kernel=(1, 3, 3, 1), bias=True,
                 activate=True):
        layers = []
        if downsample:
            layers.append(FIRFilter(list(blur_kernel), pad=downsample_pad(len(blur_kernel) + kernel_size - 1, 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        layers.append(EqualConv2D(in_channel, out_channel, kernel_size, stride=stride, padding=padding,
                                  bias=bias and not activate))
        if activate:
            layers.append(BiasLeakyReLU(out_channel, bias=bias))
        super().__init__(*layers)
        self.conv_clamp = None

    def forward(self, x):
        return clamp(super().forward(x), self.conv_clamp)


class ResBlock(nn.Layer):
    """Two 3x3 convs (the second downsamples) plus a 1x1 downsampled skip, summed / sqrt(2)."""

    def __init__(self, in_channel, out_channel, blur_kernel=(1, 3, 3, 1)):
        super().__init__()
        self.conv1 = ConvLayer(in_channel, in_channel, 3, blur_kernel=blur_kernel)
        self.conv2 = ConvLayer(in_channel, out_channel, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(in_channel, out_channel, 1, downsample=True, activate=False, bias=False,
                              blur_kernel=blur_kernel)

    def forward(self, x):
        return (self.conv2(self.conv1(x)) + self.skip(x)) * (1 / math.sqrt(2))


@DISCRIMINATORS.register()
class StyleGAN2Discriminator(MixedPrecision, nn.Layer):
    """Residual StyleGAN2 discriminator; drop-in for ppgan's ``StyleGANv2Discriminator``.

    forward(image ``[N, img_channels, H, W]``) -> scores ``[N, 1]``; ``img_channels`` 1, 3 or 4 (FromRGB's
    input). ``size``: an int (square) or ``[H, W]``: the last block (mbstd, final conv, linear) works on the
    aspect's shape (``[32, 64]``: 4x8); resolutions and channel table are the short side's (``self.size``).
    ``c_dim`` > 0: class-conditional, ``forward(image, c)`` with stylegan2-ada-pytorch's projection head (``mapping``
    of ``mapping_layers`` dense layers to ``cmap_dim``, default the 4x4 channels; the last linear layer gives
    ``cmap_dim`` features whose dot product with the mapped label, over sqrt(cmap_dim), is the score).
    """

    channels_key = "img_channels"

    def __init__(self, size, channel_multiplier=2, blur_kernel=(1, 3, 3, 1), stddev_group=4, stddev_feat=1,
                 channel_base=16384, channel_max=512, img_channels=3, c_dim=0, cmap_dim=None, mapping_layers=8):
        super().__init__()
        self.image_shape = check_image_shape(size)
        size = min(self.image_shape)
        log_size = check_size(size)
        self.size, self.img_channels = size, check_image_channels(img_channels, "img_channels")
        base_h, base_w = base_shape(self.image_shape)
        channels = channel_table(size, channel_multiplier, channel_base, channel_max)
        convs = [ConvLayer(img_channels, channels[size], 1)]
        in_channel = channels[size]
        for i in range(log_size, 2, -1):
            out_channel = channels[2 ** (i - 1)]
            convs.append(ResBlock(in_channel, out_channel, blur_kernel))
            in_channel = out_channel
        self.convs = nn.Sequential(*convs)
        self.stddev_group, self.stddev_feat = stddev_group, stddev_feat
        self.final_conv = ConvLayer(in_channel + stddev_feat, channels[4], 3)
        self.c_dim = check_int("c_dim", c_dim, minimum=0)
        self.cmap_dim = (cmap_dim or channels[4]) if c_dim else 0
        if c_dim:  # the projection head of stylegan2-ada-pytorch: scores . mapped label / sqrt(cmap_dim)
            self.mapping = LabelMapping(c_dim, self.cmap_dim, mapping_layers)
        self.final_linear = nn.Sequential(
            EqualLinear(channels[4] * base_h * base_w, channels[4], activation="fused_lrelu"),
            EqualLinear(channels[4], self.cmap_dim or 1))

    def input_blocks(self):
        """State-dict prefixes of the blocks from the image inwards (FromRGB, then one per resolution): what
        ``model.freeze_d`` freezes."""
        return [f"convs.{i}." for i in range(len(self.convs))]

    def forward(self, image, c=None):
        expected = [self.img_channels, *self.image_shape]
        assert image.ndim == 4 and list(image.shape[1:]) == expected, \
            f"StyleGAN2Discriminator: expected [N, {', '.join(map(str, expected))}], got {image.shape}"
        out, resolution = image, self.size
        for k, block in enumerate(self.convs):  # FromRGB, then one block per resolution
            resolution = resolution // 2 if k > 1 else resolution
            with float16_scope(self.float16_at(resolution)):
                out = block(out)
        out = minibatch_stddev(as_float32(out), self.stddev_group, self.stddev_feat)  # the epilogue: float32
        out = self.final_conv(out)
        scores = self.final_linear(out.reshape([out.shape[0], -1]))
        if not self.c_dim:
            return scores
        if c is None:
            raise ValueError(f"StyleGAN2Discriminator has c_dim={self.c_dim}: labels c [N, {self.c_dim}] are needed")
        cmap = self.mapping(c)
        return (scores * cmap).sum(axis=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
