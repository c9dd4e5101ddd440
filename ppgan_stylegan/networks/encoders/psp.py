"""pixel2style2pixel encoder (Richardson et al., "Encoding in Style", CVPR 2021, section 3).

An IR-SE ResNet (ArcFace's improved residual units with squeeze-excitation) extracts features at
strides 4, 8 and 16; a feature pyramid merges them top-down (bilinear upsampling + 1x1 lateral convs);
one ``map2style`` head per W+ entry reduces a pyramid level to a vector: coarse entries (0-2) read the
stride-16 level, middle ones (3-6) the stride-8 level, fine ones the stride-4 level. The encoder predicts
an offset from ``latent_avg`` (the generator's average w).

The official code has two more encoders on the same backbone, kept here under its names (``encoder_type``):
``BackboneEncoderUsingLastLayerIntoW`` (the last feature map average-pooled, one w for every entry: pSp's
``learn_in_w``) and ``BackboneEncoderUsingLastLayerIntoWPlus`` (BN, 7x7 average pool, a dense layer, then one
equalized linear to all W+ entries at once).

State-dict keys follow PaddleGAN's ``Pixel2Style2Pixel.encoder`` (``input_layer``, ``body``, ``styles``,
``latlayer1/2``), so its pretrained encoders load unchanged; the official files' names map onto them
(``networks/encoders/official.py``).
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


class IRSEStem(nn.Layer):
    """What every pSp encoder starts with: ``input_layer`` (conv-BN-PReLU to the first width) and ``body`` (the IR-SE
    units, each stage halving the size). ``ends``: the index of each stage's last unit."""

    def __init__(self, num_layers=50, mode="ir_se", input_nc=3, input_size=256, widths=None, units=None):
        super().__init__()
        if input_size < 16 or input_size & (input_size - 1):
            raise ConfigError(f"encoder.input_size: expected a power of two >= 16, got {input_size!r}")
        self.widths, self.input_nc, self.input_size = tuple(widths or STAGE_WIDTHS), int(input_nc), input_size
        self.input_layer = nn.Sequential(nn.Conv2D(input_nc, self.widths[0], 3, 1, 1, bias_attr=False),
                                         nn.BatchNorm2D(self.widths[0]), nn.PReLU(self.widths[0]))
        blocks, self.ends = ir_backbone(num_layers, mode, self.widths, units)
        self.body = nn.Sequential(*blocks)

    def check_input(self, x):
        assert x.ndim == 4 and x.shape[1:] == [self.input_nc, self.input_size, self.input_size], \
            f"encoder: expected [N, {self.input_nc}, {self.input_size}, {self.input_size}], got {x.shape}"

    def features(self, x, taps=()):
        """The last feature map, and ``{i: output of unit i}`` for the units in ``taps``."""
        self.check_input(x)
        x, tapped = self.input_layer(x), {}
        for i, unit in enumerate(self.body):
            x = unit(x)
            if i in taps:
                tapped[i] = x
        return x, tapped


class GradualStyleEncoder(IRSEStem):
    """Image ``[N, C, S, S]`` -> W+ offsets ``[N, n_styles, style_dim]`` (``S = input_size``)."""

    def __init__(self, n_styles, style_dim=512, num_layers=50, mode="ir_se", input_nc=3, input_size=256,
                 widths=None, units=None):
        super().__init__(num_layers, mode, input_nc, input_size, widths, units)
        widths = self.widths
        self.n_styles, self.style_dim = n_styles, style_dim
        self.taps = (self.ends[1], self.ends[2], self.ends[3])  # strides 4, 8, 16
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
        _, tapped = self.features(x, self.taps)
        c1, c2, c3 = (tapped[i] for i in self.taps)
        p2 = self.upsample_add(c3, self.latlayer1(c2))
        p1 = self.upsample_add(p2, self.latlayer2(c1))
        levels = [c3] * self.coarse_end + [p2] * (self.middle_end - self.coarse_end) + \
            [p1] * (self.n_styles - self.middle_end)
        return paddle.stack([head(level) for head, level in zip(self.styles, levels)], axis=1)


class BackboneEncoderIntoW(IRSEStem):
    """pSp's ``BackboneEncoderUsingLastLayerIntoW``: the last map average-pooled to one w, used for every W+ entry
    (returned as W+ ``[N, n_styles, style_dim]`` with equal rows)."""

    def __init__(self, n_styles, style_dim=512, num_layers=50, mode="ir_se", input_nc=3, input_size=256,
                 widths=None, units=None):
        super().__init__(num_layers, mode, input_nc, input_size, widths, units)
        self.n_styles, self.style_dim = n_styles, style_dim
        self.linear = EqualLinear(self.widths[3], style_dim)

    def forward(self, x):
        last, _ = self.features(x)
        w = self.linear(last.mean(axis=[2, 3]))
        return w.unsqueeze(1).tile([1, self.n_styles, 1])


class BackboneEncoderIntoWPlus(IRSEStem):
    """pSp's ``BackboneEncoderUsingLastLayerIntoWPlus``: BN, 7x7 adaptive average pool, a dense layer to
    ``style_dim``, then one equalized linear to all ``n_styles`` entries."""

    POOLED = 7

    def __init__(self, n_styles, style_dim=512, num_layers=50, mode="ir_se", input_nc=3, input_size=256,
                 widths=None, units=None):
        super().__init__(num_layers, mode, input_nc, input_size, widths, units)
        self.n_styles, self.style_dim = n_styles, style_dim
        width = self.widths[3]
        self.output_layer_2 = nn.Sequential(nn.BatchNorm2D(width), nn.AdaptiveAvgPool2D(self.POOLED), nn.Flatten(),
                                            nn.Linear(width * self.POOLED ** 2, style_dim))
        self.linear = EqualLinear(style_dim, style_dim * n_styles)

    def forward(self, x):
        last, _ = self.features(x)
        return self.linear(self.output_layer_2(last)).reshape([-1, self.n_styles, self.style_dim])


class FromLatentAverage:
    """A pSp encoder's codes: offsets + ``latent_avg`` (the generator's average w) when ``start_from_latent_avg``
    (pSp's option; the official trainings all set it), else the encoder's output as it is.

    ``n_styles`` is the generator's ``n_latent`` (2 log2(size) - 2); ``latent_avg`` (``[n_styles, D]``) is a buffer
    set from the generator's average w when training starts, saved with the weights.
    """

    def __init__(self, n_styles=None, size=None, style_dim=512, start_from_latent_avg=True, **kwargs):
        if n_styles is None:
            if size is None:
                raise ConfigError("encoder: give n_styles or the generator's size")
            n_styles = 2 * int(math.log2(size)) - 2
        super().__init__(n_styles, style_dim, **kwargs)
        self.start_from_latent_avg = bool(start_from_latent_avg)
        self.register_buffer("latent_avg", paddle.zeros([n_styles, style_dim]))

    def set_latent_avg(self, w_avg):
        """``w_avg``: ``[D]``, ``[1, D]`` or ``[n_styles, D]``."""
        w_avg = w_avg if isinstance(w_avg, paddle.Tensor) else paddle.to_tensor(w_avg)
        w_avg = w_avg.astype("float32").reshape([-1, self.style_dim])
        write_(self.latent_avg, w_avg.expand([self.n_styles, self.style_dim]))

    def forward(self, x):
        codes = super().forward(x)
        return codes + self.latent_avg.unsqueeze(0) if self.start_from_latent_avg else codes


@GENERATORS.register()
class PSPEncoder(FromLatentAverage, GradualStyleEncoder):
    """pSp's GradualStyleEncoder for a StyleGAN2 generator (the encoder of every official pSp task)."""


@GENERATORS.register()
class PSPEncoderIntoW(FromLatentAverage, BackboneEncoderIntoW):
    """pSp's BackboneEncoderUsingLastLayerIntoW (``learn_in_w``) for a StyleGAN2 generator."""


@GENERATORS.register()
class PSPEncoderIntoWPlus(FromLatentAverage, BackboneEncoderIntoWPlus):
    """pSp's BackboneEncoderUsingLastLayerIntoWPlus for a StyleGAN2 generator."""


# the official ``encoder_type`` names -> ours (a config may use either)
ENCODER_TYPES = {"GradualStyleEncoder": PSPEncoder, "BackboneEncoderUsingLastLayerIntoW": PSPEncoderIntoW,
                 "BackboneEncoderUsingLastLayerIntoWPlus": PSPEncoderIntoWPlus}


def encoder_class(name, where="encoder.name"):
    """The pSp encoder class of a config name (ours or the official ``encoder_type``)."""
    by_name = {cls.__name__: cls for cls in ENCODER_TYPES.values()} | ENCODER_TYPES
    if name not in by_name:
        raise ConfigError(f"{where}: expected one of {', '.join(sorted(by_name))}, got {name!r}")
    return by_name[name]


def official_type(encoder):
    """The official ``encoder_type`` of one of our encoders."""
    return next(name for name, cls in ENCODER_TYPES.items() if isinstance(encoder, cls))
