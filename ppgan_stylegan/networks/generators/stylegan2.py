"""StyleGAN2 generator (config E/F: skip generator, modulated convs) with ppgan's state dict.

Spaces: z -> (mapping) -> W -> broadcast / mixing -> W+ ``[N, n_latent, D]`` ->
(``style_affine``) -> S: one vector per modulated conv -> (``synthesis``) -> image.
"""
import paddle
import paddle.nn as nn
from ppgan.models.generators.builder import GENERATORS

from ...core.checks import check_image_channels, check_image_shape, check_int, check_size
from ...core.errors import ConfigError
from ...ops import EqualLinear, PixelNorm, float16_scope
from ..blocks import ConstantInput, MixedPrecision, StyledConv, ToRGB, base_shape, channel_table
from .base import StyleGeneratorBase


@GENERATORS.register()
class StyleGAN2Generator(MixedPrecision, StyleGeneratorBase):
    """StyleGAN2 generator; drop-in for ppgan's ``StyleGANv2Generator`` (same keys and outputs).

    Extra options: ``channel_base``/``channel_max`` (feature-map table), ``fused_modconv``
    (True: grouped per-sample weights; False, the default: shared-weight conv with activation scaling,
    measured faster on CPU), ``w_avg_beta`` (tracked mean of W used for truncation), ``img_channels`` (1 grey,
    3 RGB, 4 RGBA: the ToRGB layers' outputs, as NVlabs' ``img_channels``), ``c_dim`` (label width of a
    class-conditional generator, NVlabs' design: ``embed`` and a first mapping layer of twice the width; 0, the
    default, leaves ppgan's state dict as it is).

    ``size``: an int (square) or ``[H, W]`` (aspect 1:4 to 4:1): the constant input takes the aspect's shape
    (``[32, 64]``: 4x8) and everything after it follows; resolutions, channel table and W+ length are those of
    the short side (``self.size``; ``self.image_shape`` is ``(H, W)``).
    """

    channels_key = "img_channels"

    def __init__(self, size, style_dim=512, n_mlp=8, channel_multiplier=2, blur_kernel=(1, 3, 3, 1), lr_mlp=0.01,
                 is_concat=False, channel_base=16384, channel_max=512, fused_modconv=False, w_avg_beta=0.995,
                 img_channels=3, c_dim=0):
        super().__init__()
        self.image_shape = check_image_shape(size)
        size = min(self.image_shape)
        self.log_size = check_size(size)
        self.base = base_shape(self.image_shape)
        if style_dim <= 0 or n_mlp < 0:
            raise ConfigError(f"style_dim must be > 0 and n_mlp >= 0, got style_dim={style_dim}, n_mlp={n_mlp}")
        self.size, self.style_dim, self.is_concat = size, style_dim, is_concat
        self.img_channels = check_image_channels(img_channels, "img_channels")
        self.fused_modconv = bool(fused_modconv)
        blur_kernel = list(blur_kernel)

        self.c_dim = check_int("c_dim", c_dim, minimum=0)
        if c_dim:  # the label embedding, and the first dense layer takes [z, embedded c] (stylegan2-ada-pytorch)
            self.embed = EqualLinear(c_dim, style_dim)
            if n_mlp < 1:
                raise ConfigError(f"c_dim={c_dim} needs n_mlp >= 1 (the label joins z in the mapping network)")
        widths = [style_dim * (2 if c_dim else 1)] + [style_dim] * n_mlp
        self.style = nn.Sequential(PixelNorm(), *[
            EqualLinear(widths[i], style_dim, lr_mul=lr_mlp, activation="fused_lrelu") for i in range(n_mlp)])

        self.channels = channel_table(size, channel_multiplier, channel_base, channel_max)
        cat = 2 if is_concat else 1
        c4 = self.channels[4]
        self.input = ConstantInput(c4, self.base)
        self.conv1 = StyledConv(c4, c4, 3, style_dim, blur_kernel=blur_kernel, is_concat=is_concat)
        self.to_rgb1 = ToRGB(c4 * cat, style_dim, upsample=False, img_channels=img_channels)

        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.log_size * 2 - 2
        self.convs, self.to_rgbs = nn.LayerList(), nn.LayerList()
        self.noises = nn.Layer()
        for layer_idx in range(self.num_layers):
            resolution = 2 ** ((layer_idx + 5) // 2)
            self.noises.register_buffer(f"noise_{layer_idx}", paddle.randn([1, 1, *self.grid(resolution)]))
        in_channel = c4
        for i in range(3, self.log_size + 1):
            out_channel = self.channels[2 ** i]
            self.convs.append(StyledConv(in_channel * cat, out_channel, 3, style_dim, upsample=True,
                                         blur_kernel=blur_kernel, is_concat=is_concat))
            self.convs.append(StyledConv(out_channel * cat, out_channel, 3, style_dim, blur_kernel=blur_kernel,
                                         is_concat=is_concat))
            self.to_rgbs.append(ToRGB(out_channel * cat, style_dim, blur_kernel=blur_kernel,
                                      img_channels=img_channels))
            in_channel = out_channel

        self._init_latent_space(style_dim, self.n_latent, w_avg_beta)

    # ------------------------------------------------------------------ noise
    def grid(self, resolution):
        """``[h, w]`` of the feature maps at ``resolution`` (the short side): ``[r, r]`` for square images."""
        return [self.base[0] * resolution // 4, self.base[1] * resolution // 4]

    def make_noise(self):
        """One fresh noise map per resolution layer (ppgan's method): ``[1, 1, h, w]`` list."""
        noises = [paddle.randn([1, 1, *self.grid(4)])]
        for i in range(3, self.log_size + 1):
            noises += [paddle.randn([1, 1, *self.grid(2 ** i)]) for _ in range(2)]
        return noises

    def noise_shapes(self, batch=1):
        """Shapes of the explicit noise list ``forward`` expects."""
        if self.is_concat:
            return [[batch, self.channels[2 ** (j + 2)], *self.grid(2 ** (j + 2))] for j in range(self.log_size - 1)]
        return [[batch, 1, *self.grid(2 ** ((i + 5) // 2))] for i in range(self.num_layers)]

    def _per_layer_noise(self, noise, batch):
        """``is_concat``: one map per resolution, shared by that resolution's convs (expanded to the batch)."""
        if not self.is_concat:
            return noise
        per_res = [t if t is None or t.shape[0] == batch else t.expand([batch] + list(t.shape[1:])) for t in noise]
        return [per_res[(i + 1) // 2] for i in range(self.num_layers)]

    # ------------------------------------------------------------------ S space
    def _modulated_layers(self):
        """Modulated convs in synthesis order with the W+ index each one reads."""
        layers = [(self.conv1.conv, 0), (self.to_rgb1.conv, 1)]
        for j in range(len(self.to_rgbs)):
            layers += [(self.convs[2 * j].conv, 1 + 2 * j), (self.convs[2 * j + 1].conv, 2 + 2 * j),
                       (self.to_rgbs[j].conv, 3 + 2 * j)]
        return layers

    def affine_layers(self):
        return [(conv.modulation, idx) for conv, idx in self._modulated_layers()]

    def style_affine(self, latent):
        """W ``[N, D]`` or W+ ``[N, n_latent, D]`` -> list of S tensors ``[N, C_in]``, one per
        modulated conv in synthesis order (conv1, to_rgb1, then conv, conv, to_rgb per resolution)."""
        if latent.ndim == 2:
            latent = latent.unsqueeze(1).tile([1, self.n_latent, 1])
        assert latent.ndim == 3 and latent.shape[1:] == [self.n_latent, self.style_dim], \
            f"style_affine: expected [N, {self.n_latent}, {self.style_dim}], got {latent.shape}"
        return [conv.affine(latent[:, idx]) for conv, idx in self._modulated_layers()]

    def synthesis(self, styles, noise=None, randomize_noise=True, reference=False):
        """S-space synthesis: ``styles`` is the list returned by ``style_affine``."""
        expected = len(self._modulated_layers())
        if len(styles) != expected:
            raise ValueError(f"synthesis: expected {expected} style tensors, got {len(styles)}")
        batch = styles[0].shape[0]
        noise = self._layer_noise(noise, randomize_noise, batch)
        fused = self.fused_modconv
        out = self.input(styles[0])  # batch taken from the styles (also in static graphs)
        with float16_scope(self.float16_at(4)):
            out = self.conv1(out, styles[0], noise[0], fused, reference)
            rgb = self.to_rgb1.image(out, styles[1], fused, reference)
        skip = self.to_rgb1.add_skip(rgb)
        for j, to_rgb in enumerate(self.to_rgbs):
            s_a, s_b, s_rgb = styles[2 + 3 * j: 5 + 3 * j]
            with float16_scope(self.float16_at(2 ** (j + 3))):  # (mixed precision: this block's convs)
                out = self.convs[2 * j](out, s_a, noise[1 + 2 * j], fused, reference)
                out = self.convs[2 * j + 1](out, s_b, noise[2 + 2 * j], fused, reference)
                rgb = to_rgb.image(out, s_rgb, fused, reference)
            skip = to_rgb.add_skip(rgb, skip)
        return skip
