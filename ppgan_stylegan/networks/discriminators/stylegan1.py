"""StyleGAN1 ``D_basic`` discriminator (NVlabs stylegan, networks_stylegan.py), in Paddle.

ProGAN-style: FromRGB (1x1) at the input resolution, then per resolution ``Conv0`` (3x3) and
``Conv1_down`` (blur [1,2,1] -> 3x3 conv -> 2x2 average pool), and at 4x4 minibatch stddev,
``Conv``, ``Dense0``, ``Dense1``. Weights use equalized lr with He gain sqrt(2) folded into the
run-time scale (gain 1 for the output layer); activations are plain leaky ReLU(0.2).

``structure='fixed'`` reads only FromRGB_lod0. ``structure='linear'`` blends, after every block,
with FromRGB of the 2x average-pooled image (weight ``clip(lod - block_lod, 0, 1)``), so a run can
grow progressively by lowering ``lod`` (``set_lod``). The blocks whose output that blend replaces
entirely (weight 1) are skipped: the pass starts at FromRGB_lod{floor(lod)} of the image averaged down to
that level (NVlabs' recursive structure, the same numbers). Every FromRGB_lod* exists in both
structures, so the parameter count is that of NVlabs' printed network (23,087,249 at 1024).
"""
import math

import paddle.nn as nn
import paddle.nn.functional as F
from ppgan.models.discriminators.builder import DISCRIMINATORS

from ...core.checks import check_image_channels, check_int, check_size
from ...core.compat import write_
from ...ops import BiasLeakyReLU, EqualConv2D, EqualLinear, FIRFilter, minibatch_stddev
from ..blocks import LevelOfDetail, SquareImages, nvidia_fmaps, v1_slope


def _equalize(layer, use_wscale):
    """Without wscale, bake the He scale into the initial weights and use scale 1 at run time."""
    if not use_wscale:
        write_(layer.weight, layer.weight * layer.scale)
        layer.scale = 1.0
    return layer


class _ConvAct(nn.Layer):
    """conv (no bias) -> bias + activation, optionally followed by a 2x2 average pool."""

    def __init__(self, in_c, out_c, kernel, gain, use_wscale, slope, blur=None, down=False):
        super().__init__()
        self.blur = blur
        self.conv = _equalize(EqualConv2D(in_c, out_c, kernel, padding=kernel // 2, bias=False, gain=gain),
                              use_wscale)
        self.act = BiasLeakyReLU(out_c, negative_slope=slope, gain=1.0)
        self.down = down

    def forward(self, x):
        if self.blur is not None:
            x = self.blur(x)
        x = self.conv(x)
        if self.down:
            x = F.avg_pool2d(x, 2)
        return self.act(x)


class _Block(nn.Layer):
    def __init__(self, in_c, out_c, gain, use_wscale, slope, blur_filter):
        super().__init__()
        blur = FIRFilter(list(blur_filter), pad=(len(blur_filter) // 2, (len(blur_filter) - 1) // 2)) \
            if blur_filter else None
        self.conv0 = _ConvAct(in_c, in_c, 3, gain, use_wscale, slope)
        self.conv1_down = _ConvAct(in_c, out_c, 3, gain, use_wscale, slope, blur=blur, down=True)

    def forward(self, x):
        return self.conv1_down(self.conv0(x))


@DISCRIMINATORS.register()
class StyleGANDiscriminator(LevelOfDetail, SquareImages, nn.Layer):
    """StyleGAN1 D_basic. forward(images ``[N, C, size, size]``, labels ``[N, label_size]``) -> ``[N, 1]``."""

    def __init__(self, size=1024, num_channels=3, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                 nonlinearity="lrelu", use_wscale=True, mbstd_group_size=4, mbstd_num_features=1,
                 blur_filter=(1, 2, 1), structure="fixed"):
        super().__init__()
        self.resolution_log2 = check_size(size)
        slope = v1_slope(structure, nonlinearity)
        self.size, self.structure = size, structure
        self.c_dim = self.label_size = check_int("label_size", label_size, minimum=0)
        self.num_channels = check_image_channels(num_channels, "num_channels")
        self.mbstd_group_size, self.mbstd_num_features = mbstd_group_size, mbstd_num_features
        gain = math.sqrt(2)
        nf = nvidia_fmaps(fmap_base, fmap_decay, fmap_max)

        r = self.resolution_log2
        self.from_rgbs = nn.LayerList([_ConvAct(num_channels, nf(res - 1), 1, gain, use_wscale, slope)
                                       for res in range(r, 1, -1)])  # index = lod
        self.blocks = nn.LayerList([_Block(nf(res - 1), nf(res - 2), gain, use_wscale, slope, blur_filter)
                                    for res in range(r, 2, -1)])  # index = lod
        mb = mbstd_num_features if mbstd_group_size > 1 else 0
        self.conv = _ConvAct(nf(1) + mb, nf(1), 3, gain, use_wscale, slope)
        self.dense0 = _equalize(EqualLinear(nf(1) * 16, nf(0), bias=False, gain=gain), use_wscale)
        self.dense0_act = BiasLeakyReLU(nf(0), negative_slope=slope, gain=1.0)
        self.dense1 = _equalize(EqualLinear(nf(0), max(label_size, 1), gain=1.0), use_wscale)
        self._init_lod(self.resolution_log2 - 2)

    def forward(self, images, labels=None):
        assert images.ndim == 4 and images.shape[1:] == [self.num_channels, self.size, self.size], \
            f"StyleGANDiscriminator: expected [N, {self.num_channels}, {self.size}, {self.size}], got {images.shape}"
        lod = self._lod if self.structure == "linear" else 0.0
        start = int(math.floor(lod))  # the blocks before it are replaced by FromRGB_lod{start} (blend weight 1)
        img = F.avg_pool2d(images, 2 ** start) if start else images
        x = self.from_rgbs[start](img)
        for block_lod in range(start, len(self.blocks)):
            x = self.blocks[block_lod](x)
            weight = min(max(lod - block_lod, 0.0), 1.0)
            if weight > 0:  # fading in this block: blend with FromRGB of the image one level down
                img = F.avg_pool2d(img, 2)
                x = x + (self.from_rgbs[block_lod + 1](img) - x) * weight
        if self.mbstd_group_size > 1:
            x = minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_features)
        x = self.conv(x)
        x = self.dense0_act(self.dense0(x.reshape([x.shape[0], -1])))
        scores = self.dense1(x)
        if self.label_size:
            if labels is None:
                raise ValueError(f"StyleGANDiscriminator has label_size={self.label_size}: labels are required")
            scores = (scores * labels).sum(axis=1, keepdim=True)
        return scores

    def layer_table(self):
        """(name, parameter count) per layer, named as in NVlabs' printout (FromRGB_lod0, 1024x1024/Conv0...)."""
        def count(layer):
            return sum(int(p.numel()) for p in layer.parameters())

        r = self.resolution_log2
        rows = []
        for lod, block in enumerate(self.blocks):
            res = 2 ** (r - lod)
            if lod == 0:
                rows.append(("FromRGB_lod0", count(self.from_rgbs[0])))
            rows += [(f"{res}x{res}/Conv0", count(block.conv0)), (f"{res}x{res}/Conv1_down", count(block.conv1_down)),
                     (f"FromRGB_lod{lod + 1}", count(self.from_rgbs[lod + 1]))]
        rows += [("4x4/Conv", count(self.conv)), ("4x4/Dense0", count(self.dense0) + count(self.dense0_act)),
                 ("4x4/Dense1", count(self.dense1))]
        return rows
