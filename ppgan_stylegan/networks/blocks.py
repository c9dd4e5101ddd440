"""Blocks shared by the StyleGAN networks: the channel table, and the StyleGAN2 synthesis layers with ppgan's
parameter names and shapes."""
import math

import paddle
import paddle.nn as nn

from ..core.checks import check_choice
from ..core.compat import write_
from ..core.errors import ConfigError
from ..ops import (BiasLeakyReLU, EqualLinear, FIRFilter, NoiseInjection, add_channel_bias, as_float32, clamp,
                   downsample_pad, float16_min_resolution, modulated_conv2d, modulated_conv2d_ref,
                   noise_bias_leaky_relu, pixel_norm, upsample_pad)


def base_shape(image_shape):
    """The first block's ``(h, w)`` of a network for ``image_shape`` ``(H, W)``: the short side 4, the long side
    keeping the aspect (4x4 for squares; ``[32, 64]`` -> 4x8)."""
    height, width = image_shape
    short = min(height, width)
    return 4 * height // short, 4 * width // short


def channel_table(size, channel_multiplier=2, channel_base=16384, channel_max=512):
    """Feature maps per resolution: ``min(channel_max, channel_base * channel_multiplier / res)``.

    The defaults reproduce ppgan's / rosinality's table (512 up to 32 px, then 256*cm at 64 ...).
    """
    log_size = int(math.log2(size))
    return {2 ** i: max(1, min(channel_max, channel_base * channel_multiplier // 2 ** i))
            for i in range(2, log_size + 1)}


STRUCTURES = ("fixed", "linear")  # StyleGAN v1 networks: no growing / progressive growing by lod


def nvidia_fmaps(fmap_base=8192, fmap_decay=1.0, fmap_max=512):
    """NVIDIA's ``nf(stage)`` (ProGAN / StyleGAN v1): ``min(fmap_base / 2 ** (stage * fmap_decay), fmap_max)``
    feature maps, stage = log2(resolution) - 1."""
    def nf(stage):
        return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)
    return nf


def v1_slope(structure, nonlinearity):
    """Checks the StyleGAN v1 ``structure`` and ``nonlinearity`` arguments; the leaky ReLU slope ('relu': 0)."""
    check_choice("structure", structure, STRUCTURES)
    check_choice("nonlinearity", nonlinearity, ("lrelu", "relu"))
    return 0.2 if nonlinearity == "lrelu" else 0.0


class SquareImages:
    """Mixin of the StyleGAN v1 networks: square images (``image_shape``) of ``num_channels`` channels (NVIDIA's
    name; ``img_channels`` as the StyleGAN2 networks call it)."""

    channels_key = "num_channels"

    @property
    def img_channels(self):
        return self.num_channels

    @property
    def image_shape(self):
        return self.size, self.size


class LevelOfDetail:
    """Mixin of the StyleGAN v1 networks: the ``lod`` buffer (saved with the weights) and its Python mirror, read
    by ``forward`` without a device sync. ``max_lod`` is log2(size) - 2 (4x4 only)."""

    def _init_lod(self, max_lod):
        self.max_lod = max_lod
        self.register_buffer("lod", paddle.zeros([1]))
        self._lod = 0.0

    def set_lod(self, lod):
        """Level of detail of ``structure='linear'``: 0 = full resolution, ``max_lod`` = 4x4."""
        lod = float(lod)
        if not 0 <= lod <= self.max_lod:
            raise ConfigError(f"lod must be in [0, {self.max_lod}], got {lod}")
        write_(self.lod, paddle.full([1], lod))
        self._lod = lod

    def set_state_dict(self, state_dict, use_structured_name=True):
        result = super().set_state_dict(state_dict, use_structured_name=use_structured_name)
        self._lod = float(self.lod.numpy()[0])
        return result


class MixedPrecision:
    """Mixin of the StyleGAN2 networks: which resolutions compute in float16 under mixed precision, and the
    clamp of every conv layer's output (``conv_clamp``), as NVlabs' ``num_fp16_res`` / ``conv_clamp``. Off (all
    float32, no clamp) until ``configure_precision``; the training model configures it when ``model.amp`` is on.
    Layers that clamp have a ``conv_clamp`` attribute."""

    amp_resolutions, conv_clamp, float16_from = 0, None, float("inf")

    def configure_precision(self, amp_resolutions=4, conv_clamp=None):
        if int(amp_resolutions) < 0 or (conv_clamp is not None and not float(conv_clamp) > 0):
            raise ConfigError(f"amp_resolutions must be >= 0 and conv_clamp > 0 (or null), got "
                              f"{amp_resolutions} and {conv_clamp}")
        self.amp_resolutions, self.conv_clamp = int(amp_resolutions), conv_clamp
        self.float16_from = float16_min_resolution(self.size, self.amp_resolutions)
        for layer in self.sublayers():
            if hasattr(layer, "conv_clamp"):
                layer.conv_clamp = conv_clamp

    def float16_at(self, resolution):
        """True when the block at ``resolution`` computes in float16 (with mixed precision on)."""
        return resolution >= self.float16_from

    def precision_plan(self):
        """``{resolution: 'float16' | 'float32'}`` for the network's resolutions."""
        return {2 ** i: "float16" if self.float16_at(2 ** i) else "float32"
                for i in range(2, int(math.log2(self.size)) + 1)}


class ModulatedConv2D(nn.Layer):
    """Modulated conv layer: ``weight [1, O, I, k, k]`` and the affine ``modulation`` (w -> s)."""

    def __init__(self, in_channel, out_channel, kernel_size, style_dim, demodulate=True, upsample=False,
                 downsample=False, blur_kernel=(1, 3, 3, 1)):
        super().__init__()
        self.in_channel, self.out_channel, self.kernel_size = in_channel, out_channel, kernel_size
        self.upsample, self.downsample, self.demodulate = upsample, downsample, demodulate
        taps, factor = len(blur_kernel), 2
        self.blur = None
        if upsample:
            p = (taps - factor) - (kernel_size - 1)
            self.blur = FIRFilter(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1), gain=factor ** 2)
        elif downsample:
            self.blur = FIRFilter(blur_kernel, pad=downsample_pad(taps + kernel_size - 1, factor))
        self.scale = 1 / math.sqrt(in_channel * kernel_size * kernel_size)
        self.padding = kernel_size // 2
        self.weight = self.create_parameter((1, out_channel, in_channel, kernel_size, kernel_size),
                                            default_initializer=nn.initializer.Normal())
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)

    def affine(self, w):
        """Style vector ``s = A(w)`` of this layer, ``[N, in_channel]``."""
        return self.modulation(w)

    def forward(self, x, s, fused=False, reference=False, gain=1.0):
        """The modulated conv of ``x`` with styles ``s``, times ``gain`` (folded into the fast path's
        coefficients; the caller's activation gain)."""
        weight = self.weight.reshape(self.weight.shape[1:])  # a view: no slice gradient
        kwargs = dict(demodulate=self.demodulate, up=self.upsample, down=self.downsample, blur=self.blur,
                      padding=self.padding)
        if reference:
            out = modulated_conv2d_ref(x, weight * self.scale, s, **kwargs)
            return out * gain if gain != 1 else out
        # eq. (1) is linear in s and w: the equalized-lr scale goes on the [N, I] styles, not the weight
        return modulated_conv2d(x, weight, s * self.scale, fused=fused, gain=gain, **kwargs)

    def extra_repr(self):
        return (f"{self.in_channel}, {self.out_channel}, {self.kernel_size}, upsample={self.upsample}, "
                f"downsample={self.downsample}")


class StyledConv(nn.Layer):
    """Modulated conv -> noise -> bias + leaky ReLU (keys ``conv``, ``noise``, ``activate``)."""

    def __init__(self, in_channel, out_channel, kernel_size, style_dim, upsample=False, blur_kernel=(1, 3, 3, 1),
                 demodulate=True, is_concat=False):
        super().__init__()
        self.conv = ModulatedConv2D(in_channel, out_channel, kernel_size, style_dim, demodulate=demodulate,
                                    upsample=upsample, blur_kernel=blur_kernel)
        self.noise = NoiseInjection(is_concat=is_concat)
        self.activate = BiasLeakyReLU(out_channel * 2 if is_concat else out_channel)
        self.out_channel = out_channel
        self.conv_clamp = None

    def forward(self, x, s, noise, fused=False, reference=False):
        act = self.activate
        fast = not (reference or self.noise.is_concat)
        out = self.conv(x, s, fused, reference, gain=act.gain if fast else 1.0)
        if noise is None:  # rosinality / ppgan: fresh noise
            noise = paddle.randn([out.shape[0], self.noise.channels(out), out.shape[2], out.shape[3]])
        if not fast:
            return clamp(act(self.noise(out, noise)), self.conv_clamp)
        # the activation gain is already in ``out`` (folded into the demodulation coefficients)
        return clamp(noise_bias_leaky_relu(out, noise, self.noise.weight, act.bias, act.negative_slope, act.gain,
                                           x_scaled=True), self.conv_clamp)


class ToRGB(nn.Layer):
    """1x1 modulated conv to the image's channels (no demodulation) + bias, plus the upsampled skip image."""

    def __init__(self, in_channel, style_dim, upsample=True, blur_kernel=(1, 3, 3, 1), img_channels=3):
        super().__init__()
        if upsample:
            self.upsample = FIRFilter(blur_kernel, pad=upsample_pad(len(blur_kernel)), up=2, gain=4,
                                      persistable=True)
        self.conv = ModulatedConv2D(in_channel, img_channels, 1, style_dim, demodulate=False)
        self.bias = self.create_parameter((1, img_channels, 1, 1), default_initializer=nn.initializer.Constant(0.0))
        self.conv_clamp = None

    def image(self, x, s, fused=False, reference=False):
        """This resolution's RGB contribution (in the block's precision)."""
        out = self.conv(x, s, fused, reference)
        out = out + self.bias if reference else add_channel_bias(out, self.bias.reshape([-1]))
        return clamp(out, self.conv_clamp)

    def add_skip(self, rgb, skip=None):
        """The float32 image: ``rgb`` plus the up-sampled image of the lower resolutions."""
        rgb = as_float32(rgb)
        return rgb if skip is None else rgb + self.upsample(skip)

    def forward(self, x, s, skip=None, fused=False, reference=False):
        return self.add_skip(self.image(x, s, fused, reference), skip)


class LabelMapping(nn.Layer):
    """The conditional discriminator's label mapping (stylegan2-ada-pytorch: ``MappingNetwork(z_dim=0)``): c
    ``[N, c_dim]`` -> embedded (``embed``), normalised to unit second moment, ``n_layers`` dense layers with leaky
    ReLU at ``lr_mul`` (``layers``) -> ``cmap`` ``[N, dim]``."""

    def __init__(self, c_dim, dim, n_layers=8, lr_mul=0.01):
        super().__init__()
        self.embed = EqualLinear(c_dim, dim)
        self.layers = nn.Sequential(*[EqualLinear(dim, dim, lr_mul=lr_mul, activation="fused_lrelu")
                                      for _ in range(n_layers)])

    def forward(self, c):
        return self.layers(pixel_norm(self.embed(c)))


class ConstantInput(nn.Layer):
    """Learned constant the synthesis network starts from (key ``input``): 4x4, or ``(h, w)`` with the short side 4
    for non-square images."""

    def __init__(self, channel, size=4):
        super().__init__()
        h, w = (size, size) if isinstance(size, int) else size
        self.input = self.create_parameter((1, channel, h, w), default_initializer=nn.initializer.Normal())

    def forward(self, batch_like):
        """The constant, repeated for every sample of ``batch_like`` (any tensor with the batch first)."""
        batch = batch_like.shape[0] if paddle.in_dynamic_mode() else paddle.shape(batch_like)[0]
        return self.input.tile([batch, 1, 1, 1])


__all__ = ["base_shape", "channel_table", "nvidia_fmaps", "v1_slope", "STRUCTURES", "SquareImages", "LevelOfDetail",
           "MixedPrecision", "ModulatedConv2D", "StyledConv", "ToRGB", "LabelMapping", "ConstantInput"]
