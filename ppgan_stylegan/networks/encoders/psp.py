"""pixel2style2pixel encoder (Richardson et al., "Encoding in Style", CVPR 2021, section 3).

An IR-SE ResNet (ArcFace's improved residual units with squeeze-excitation) extracts features at
strides 4, 8 and 16; a feature pyramid merges them top-down (bilinear upsampling + 1x1 lateral convs);
one ``map2style`` head per W+ entry reduces a pyramid level to a vector: coarse entries (0-2) read the
stride-16 level, middle ones (3-6) the stride-8 level, fine ones the stride-4 level. The encoder predicts
an offset from ``latent_avg`` (the generator's average w).

State-dict keys follow PaddleGAN's ``Pixel2Style2Pixel.encoder`` (``input_layer``, ``body``, ``styles``,
``latlayer1/2``), so its pretrained encoders load unchanged.
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppgan.models.generators.builder import GENERATORS

from ...core.compat import write_
from ...core.errors import ConfigError, UserError
from ...ops import EqualLinear
from ..irse import STAGE_WIDTHS, ir_backbone

COARSE_END, MIDDLE_END = 3, 7  # W+ entries [0, 3) coarse, [3, 7) middle, [7, n) fine


def require_square_rgb(generator, where):
    """pSp inverts unconditional square RGB generators (its encoder takes RGB squares, and no label): anything else
    is a one-line UserError."""
    height, width = generator.image_shape
    if generator.img_channels != 3 or height != width or getattr(generator, "c_dim", 0):
        raise UserError(f"{where}: the pSp encoder inverts unconditional square RGB generators; this one makes "
                        f"{width}x{height} images with {generator.img_channels} channel(s)"
                        + (f", class-conditional (c_dim {generator.c_dim})" if getattr(generator, "c_dim", 0) else ""))


class Map2Style(nn.Layer):
    """``map2style``: log2(spatial) stride-2 conv + leaky ReLU layers down to 1x1, then an equalized linear."""

    def __init__(self, in_channel, style_dim, spatial):
        super().__init__()
        layers, ch = [], in_channel
        for _ in range(max(1, int(math.log2(spatial)))):
            layers += [nn.Conv2D(ch, style_dim, 3, 2, 1), nn.LeakyReLU()]
            ch = style_dim
        self.convs = nn.Sequential(*layers)
        self.linear = EqualLinear(style_dim, style_dim)
        self.style_dim = style_dim

    def forward(self, x):
        x = self.convs(x)
        assert x.shape[2:] == [1, 1], f"map2style: expected a 1x1 map, got {x.shape}"
        return self.linear(x.reshape([-1, self.style_dim]))


class GradualStyleEncoder(nn.Layer):
    """Image ``[N, C, S, S]`` -> W+ offsets ``[N, n_styles, style_dim]`` (``S = input_size``)."""

    def __init__(self, n_styles, style_dim=512, num_layers=50, mode="ir_se", input_nc=3, input_size=256,
                 widths=None, units=None):
        super().__init__()
        if input_size < 16 or input_size & (input_size - 1):
            raise ConfigError(f"encoder.input_size: expected a power of two >= 16, got {input_size!r}")
        widths = tuple(widths or STAGE_WIDTHS)
        self.n_styles, self.style_dim, self.input_size = n_styles, style_dim, input_size
        self.input_layer = nn.Sequential(nn.Conv2D(input_nc, widths[0], 3, 1, 1, bias_attr=False),
                                         nn.BatchNorm2D(widths[0]), nn.PReLU(widths[0]))
        blocks, ends = ir_backbone(num_layers, mode, widths, units)
        self.body = nn.Sequential(*blocks)
        self.taps = {ends[1]: "c1", ends[2]: "c2", ends[3]: "c3"}  # strides 4, 8, 16
        self.coarse_end, self.middle_end = min(COARSE_END, n_styles), min(MIDDLE_END, n_styles)
        spatial = [input_size // 16] * self.coarse_end + [input_size // 8] * (self.middle_end - self.coarse_end) \
            + [input_size // 4] * (n_styles - self.middle_end)
        self.styles = nn.LayerList([Map2Style(widths[3], style_dim, s) for s in spatial])
        self.latlayer1 = nn.Conv2D(widths[2], widths[3], 1)
        self.latlayer2 = nn.Conv2D(widths[1], widths[3], 1)

    @staticmethod
    def upsample_add(top, lateral):
        return F.interpolate(top, size=lateral.shape[2:], mode="bilinear", align_corners=True) + lateral

    def forward(self, x):
        assert x.ndim == 4 and x.shape[2:] == [self.input_size, self.input_size], \
            f"encoder: expected [N, C, {self.input_size}, {self.input_size}], got {x.shape}"
        feats = {}
        x = self.input_layer(x)
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in self.taps:
                feats[self.taps[i]] = x
        p3 = feats["c3"]
        p2 = self.upsample_add(p3, self.latlayer1(feats["c2"]))
        p1 = self.upsample_add(p2, self.latlayer2(feats["c1"]))
        levels = [p3] * self.coarse_end + [p2] * (self.middle_end - self.coarse_end) + \
            [p1] * (self.n_styles - self.middle_end)
        return paddle.stack([head(level) for head, level in zip(self.styles, levels)], axis=1)


@GENERATORS.register()
class PSPEncoder(GradualStyleEncoder):
    """pSp encoder for a StyleGAN2 generator: W+ codes = encoder offsets + ``latent_avg``.

    ``n_styles`` is the generator's ``n_latent`` (2 log2(size) - 2); ``latent_avg`` (``[n_styles, D]``)
    is a buffer set from the generator's average w when training starts, saved with the weights.
    """

    def __init__(self, n_styles=None, size=None, style_dim=512, **kwargs):
        if n_styles is None:
            if size is None:
                raise ConfigError("encoder: give n_styles or the generator's size")
            n_styles = 2 * int(math.log2(size)) - 2
        super().__init__(n_styles, style_dim, **kwargs)
        self.register_buffer("latent_avg", paddle.zeros([n_styles, style_dim]))

    def set_latent_avg(self, w_avg):
        """``w_avg``: ``[D]``, ``[1, D]`` or ``[n_styles, D]``."""
        w_avg = w_avg if isinstance(w_avg, paddle.Tensor) else paddle.to_tensor(w_avg)
        w_avg = w_avg.astype("float32").reshape([-1, self.style_dim])
        write_(self.latent_avg, w_avg.expand([self.n_styles, self.style_dim]))

    def forward(self, x):
        return super().forward(x) + self.latent_avg.unsqueeze(0)
