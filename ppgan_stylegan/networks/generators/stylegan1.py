"""StyleGAN (v1) generator ``G_style`` = ``G_mapping`` + ``G_synthesis`` (NVlabs stylegan, networks_stylegan.py).

Mapping: pixel norm of z, ``n_mlp`` dense layers (lr multiplier 0.01) with leaky ReLU, W broadcast to
``n_latent = 2 * log2(size) - 2`` dlatents. Synthesis: a learned 4x4 constant, then per resolution ``Conv0_up``
(2x up-sampling + 3x3 conv, blur [1, 2, 1]) and ``Conv1``; after every conv the "layer epilogue": noise with a
learned per-channel strength, bias, leaky ReLU, AdaIN (instance norm, then the style ``x * (ys + 1) + yb`` from
the layer's affine ``StyleMod``, StyleGAN paper eq. 1). ToRGB (1x1) at every resolution (``ToRGB_lod*``).

Equalized lr as NVlabs: He gain sqrt(2) (1 for ToRGB and StyleMod) in the run-time weight scale, activations
without gain. Progressive growing (``structure='linear'``): at level of detail ``lod`` the image is that of
resolution ``2 ** (log2(size) - floor(lod))``, blended with the next coarser ToRGB (nearest x2) by
``lod - floor(lod)``, then nearest-upsampled to ``size`` (NVlabs' linear structure: ``lerp_clip`` per level).
Layers above the current resolution are skipped (their blend weight is exactly 0), as NVlabs' recursive structure
does. ``structure='fixed'``: always the full network (equal to ``linear`` at lod 0).
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppgan.models.generators.builder import GENERATORS

from ...core.checks import check_choice, check_image_channels, check_int, check_size
from ...core.compat import write_
from ...core.errors import ConfigError
from ...ops import (EqualConv2D, EqualLinear, FIRFilter, PixelNorm, adaptive_instance_norm, bias_leaky_relu,
                    conv_transpose2x, nearest_upsample, noise_bias_leaky_relu)
from ..blocks import LevelOfDetail, SquareImages, nvidia_fmaps, v1_slope
from .base import StyleGeneratorBase

HE_GAIN = math.sqrt(2)


class MappingLayer(nn.Layer):
    """``G_mapping/Dense{i}``: dense (gain sqrt(2) and the lr multiplier in the run-time scale), bias, leaky ReLU."""

    def __init__(self, in_dim, out_dim, lr_mul, slope):
        super().__init__()
        self.dense = EqualLinear(in_dim, out_dim, lr_mul=lr_mul, gain=HE_GAIN)
        self.slope = slope

    def forward(self, x):
        return bias_leaky_relu(self.dense(x), None, self.slope, gain=1.0)  # (exportable: see ops.bias_act)


class UpsampleConv(nn.Layer):
    """``Conv0_up``: 2x up-sampling and a 3x3 conv (NVlabs' ``upscale2d_conv2d``).

    ``fused=False``: nearest x2, then the conv. ``fused=True``: one stride-2 transposed conv whose 4x4 kernel is
    the 3x3 kernel zero-padded and summed over its four 1-pixel shifts, output cropped by 1 ('SAME'). The
    transposed conv applies the kernel unflipped, so for the same weights the two differ by a flip of the kernel:
    each is what NVlabs computes at its resolutions (``fused_scale='auto'``: fused from 128 px up).
    """

    def __init__(self, in_channel, out_channel, fused):
        super().__init__()
        self.conv = EqualConv2D(in_channel, out_channel, 3, padding=1, bias=False, gain=HE_GAIN)
        self.fused = fused

    def forward(self, x):
        if not self.fused:
            return self.conv(nearest_upsample(x))
        w = F.pad(self.conv.weight * self.conv.scale, [1, 1, 1, 1])
        w = w[:, :, 1:, 1:] + w[:, :, :-1, 1:] + w[:, :, 1:, :-1] + w[:, :, :-1, :-1]
        return conv_transpose2x(x, w)[:, :, 1:-1, 1:-1]

    def extra_repr(self):
        return f"fused={self.fused}"


class StyleLayer(nn.Layer):
    """A synthesis layer: [conv [+ blur]] -> noise (per-channel strength) -> bias -> leaky ReLU -> AdaIN.

    ``style`` is the layer's affine ``StyleMod`` (W -> ``[ys, yb]``, ``[N, 2C]``): its outputs are the S space.
    """

    def __init__(self, channels, style_dim, slope, conv=None, blur=None):
        super().__init__()
        self.conv, self.blur, self.slope = conv, blur, slope
        zeros = nn.initializer.Constant(0.0)
        self.noise_strength = self.create_parameter((channels,), default_initializer=zeros)
        self.bias = self.create_parameter((channels,), default_initializer=zeros)
        self.style = EqualLinear(style_dim, 2 * channels, gain=1.0)
        self.channels = channels

    def affine(self, w):
        """S of this layer, ``[N, 2C]``: scale offsets ``ys`` then biases ``yb``."""
        return self.style(w)

    def forward(self, x, s, noise):
        if self.conv is not None:
            x = self.conv(x)
        if self.blur is not None:
            x = self.blur(x)
        if noise is None:
            noise = paddle.randn([x.shape[0], 1, x.shape[2], x.shape[3]], x.dtype)
        x = noise_bias_leaky_relu(x, noise, self.noise_strength, self.bias, self.slope, gain=1.0)
        return adaptive_instance_norm(x, s)


@GENERATORS.register()
class StyleGANGenerator(LevelOfDetail, SquareImages, StyleGeneratorBase):
    """StyleGAN (v1) ``G_style``, with StyleGAN2Generator's API (W / W+ / S, truncation, mixing, noise modes).

    ``lod`` (``set_lod``) selects the level of detail of ``structure='linear'`` (progressive growing); the
    truncation NVIDIA applies by default (psi 0.7 on the first 8 dlatents) is what ``truncation=None`` means.

    ``torgb_init='zero'`` (ours; NVIDIA's is ``'he'``, the default) starts every ToRGB at zero, so a level that
    fades in adds nothing until it has learned: the image is the coarser level's times the blend weight. With He
    initialisation the new level's untrained output (std ~1.9 against ~0.4 for images) is mixed in at once, which
    short fades (a few kimg, as on a CPU) do not recover from.

    ``label_size`` > 0: class-conditional as NVIDIA's code (G_mapping's ``weight`` embedding, here ``embed``);
    ``forward(..., c=labels)``.
    """

    def __init__(self, size=1024, style_dim=512, n_mlp=8, lr_mlp=0.01, num_channels=3, fmap_base=8192,
                 fmap_decay=1.0, fmap_max=512, nonlinearity="lrelu", blur_filter=(1, 2, 1), fused_scale="auto",
                 structure="linear", truncation_psi=0.7, truncation_cutoff=8, w_avg_beta=0.995, torgb_init="he",
                 label_size=0):
        super().__init__()
        self.log_size = check_size(size)
        slope = v1_slope(structure, nonlinearity)
        if fused_scale not in (True, False, "auto"):
            raise ConfigError(f"fused_scale must be true, false or 'auto', got {fused_scale!r}")
        if style_dim <= 0 or n_mlp < 1:
            raise ConfigError(f"style_dim must be > 0 and n_mlp >= 1, got style_dim={style_dim}, n_mlp={n_mlp}")
        self.size, self.structure = size, structure
        self.num_channels = check_image_channels(num_channels, "num_channels")
        self.truncation_psi, self.truncation_cutoff = truncation_psi, truncation_cutoff
        r = self.log_size
        nf = nvidia_fmaps(fmap_base, fmap_decay, fmap_max)
        self.channels = {2 ** res: nf(res - 1) for res in range(2, r + 1)}
        self.c_dim = self.label_size = check_int("label_size", label_size, minimum=0)
        if label_size:  # NVIDIA's G_mapping: labels @ weight [label_size, latent] joins z before the pixel norm
            self.embed = self.create_parameter((label_size, style_dim), default_initializer=nn.initializer.Normal())
        widths = [style_dim * (2 if label_size else 1)] + [style_dim] * n_mlp
        self.style = nn.Sequential(PixelNorm(), *[MappingLayer(widths[i], style_dim, lr_mlp, slope)
                                                  for i in range(n_mlp)])
        self.num_layers = 2 * r - 2
        self._init_latent_space(style_dim, self.num_layers, w_avg_beta)

        self.const = self.create_parameter((1, nf(1), 4, 4), default_initializer=nn.initializer.Constant(1.0))
        blur = FIRFilter(list(blur_filter), pad=(len(blur_filter) // 2, (len(blur_filter) - 1) // 2)) \
            if blur_filter else None
        layers = [StyleLayer(nf(1), style_dim, slope),
                  StyleLayer(nf(1), style_dim, slope, conv=EqualConv2D(nf(1), nf(1), 3, padding=1, bias=False,
                                                                        gain=HE_GAIN))]
        for res in range(3, r + 1):
            fused = fused_scale if fused_scale != "auto" else 2 ** res >= 128
            layers += [StyleLayer(nf(res - 1), style_dim, slope, conv=UpsampleConv(nf(res - 2), nf(res - 1), fused),
                                  blur=blur),
                       StyleLayer(nf(res - 1), style_dim, slope,
                                  conv=EqualConv2D(nf(res - 1), nf(res - 1), 3, padding=1, bias=False, gain=HE_GAIN))]
        self.layers = nn.LayerList(layers)
        self.to_rgbs = nn.LayerList([EqualConv2D(nf(res - 1), num_channels, 1, gain=1.0)
                                     for res in range(2, r + 1)])  # index = res - 2
        check_choice("torgb_init", torgb_init, ("he", "zero"))
        if torgb_init == "zero":  # not NVIDIA's: a level enters as the upsampled coarser image (see the class doc)
            for to_rgb in self.to_rgbs:
                write_(to_rgb.weight, paddle.zeros(to_rgb.weight.shape))
        self.noises = nn.Layer()
        for i in range(self.num_layers):
            res = 2 ** (i // 2 + 2)
            self.noises.register_buffer(f"noise_{i}", paddle.randn([1, 1, res, res]))
        self._init_lod(r - 2)

    def conditional_mapping(self, z, c):
        """NVIDIA's G_mapping with labels: ``pixel_norm(concat(z, c @ embed))`` through the dense layers."""
        return self.style(paddle.concat([z, paddle.matmul(c, self.embed)], axis=1))

    # ------------------------------------------------------------------ level of detail
    def current_level(self):
        """(highest resolution level computed, blend weight of the next coarser one)."""
        lod = self._lod if self.structure == "linear" else 0.0
        return self.log_size - int(math.floor(lod)), lod - math.floor(lod)

    def mixing_layers(self):
        """NVlabs: mixing draws its crossover among the dlatents of the resolutions in use."""
        return self.num_layers - 2 * (self.log_size - self.current_level()[0])

    def default_truncation(self):
        """NVIDIA's inference default (psi 0.7 on the first 8 dlatents); none in training mode."""
        return (1.0, None) if self.training else (self.truncation_psi, self.truncation_cutoff)

    # ------------------------------------------------------------------ noise / S space / synthesis
    def make_noise(self):
        """One fresh noise map per layer: ``[1, 1, r, r]`` list."""
        return [paddle.randn(s) for s in self.noise_shapes(1)]

    def noise_shapes(self, batch=1):
        return [[batch, 1, 2 ** (i // 2 + 2), 2 ** (i // 2 + 2)] for i in range(self.num_layers)]

    def affine_layers(self):
        """Each layer's ``StyleMod`` (W -> ``[ys, yb]``) with its dlatent index."""
        return [(layer.style, i) for i, layer in enumerate(self.layers)]

    def style_affine(self, latent):
        """W ``[N, D]`` or W+ ``[N, n_latent, D]`` -> list of S tensors ``[N, 2C]``, one per layer."""
        if latent.ndim == 2:
            latent = latent.unsqueeze(1).tile([1, self.n_latent, 1])
        assert latent.ndim == 3 and latent.shape[1:] == [self.n_latent, self.style_dim], \
            f"style_affine: expected [N, {self.n_latent}, {self.style_dim}], got {latent.shape}"
        return [layer.affine(latent[:, i]) for i, layer in enumerate(self.layers)]

    def synthesis(self, styles, noise=None, randomize_noise=True):
        """S-space synthesis (``styles`` as returned by ``style_affine``) at the current level of detail."""
        if len(styles) != self.num_layers:
            raise ValueError(f"synthesis: expected {self.num_layers} style tensors, got {len(styles)}")
        batch = styles[0].shape[0] if paddle.in_dynamic_mode() else paddle.shape(styles[0])[0]
        noise = self._layer_noise(noise, randomize_noise, styles[0].shape[0])
        top, alpha = self.current_level()
        x = self.layers[0](self.const.tile([batch, 1, 1, 1]), styles[0], noise[0])
        x = self.layers[1](x, styles[1], noise[1])
        coarser = x
        for res in range(3, top + 1):
            coarser = x
            for i in (2 * res - 4, 2 * res - 3):
                x = self.layers[i](x, styles[i], noise[i])
        image = self.to_rgbs[top - 2](x)
        if alpha > 0:  # fading in resolution 2 ** top: lerp towards the coarser image
            low = nearest_upsample(self.to_rgbs[top - 3](coarser))
            image = image + (low - image) * alpha
        return nearest_upsample(image, 2 ** (self.log_size - top))

    # ------------------------------------------------------------------ the seed's printout
    def layer_table(self):
        """(name, parameter count) per layer, named as in NVlabs' printout of ``G_style``."""
        def count(*layers):
            return sum(int(p.numel()) for layer in layers for p in layer.parameters())

        r = self.log_size
        mapping = [layer for layer in self.style.children() if isinstance(layer, MappingLayer)]
        rows = [(f"G_mapping/Dense{i}", count(layer)) for i, layer in enumerate(mapping)]
        rows += [("G_synthesis/4x4/Const", int(self.const.numel()) + count(self.layers[0])),
                 ("G_synthesis/4x4/Conv", count(self.layers[1])), (f"G_synthesis/ToRGB_lod{r - 2}", count(self.to_rgbs[0]))]
        for res in range(3, r + 1):
            name = f"G_synthesis/{2 ** res}x{2 ** res}"
            rows += [(f"{name}/Conv0_up", count(self.layers[2 * res - 4])), (f"{name}/Conv1", count(self.layers[2 * res - 3])),
                     (f"G_synthesis/ToRGB_lod{r - res}", count(self.to_rgbs[res - 2]))]
        return rows
