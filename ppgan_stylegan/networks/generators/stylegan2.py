"""StyleGAN2 generator (config E/F: skip generator, modulated convs) with ppgan's state dict.

Spaces: z -> (mapping) -> W -> broadcast / mixing -> W+ ``[N, n_latent, D]`` ->
(``style_affine``) -> S: one vector per modulated conv -> (``synthesis``) -> image.
"""
import random

import paddle
import paddle.nn as nn
from ppgan.models.generators.builder import GENERATORS

from ...core.checks import check_size
from ...core.errors import ConfigError
from ...ops import EqualLinear, PixelNorm
from ..blocks import ConstantInput, StyledConv, ToRGB, channel_table

NOISE_MODES = ("random", "const", "none")


@GENERATORS.register()
class StyleGAN2Generator(nn.Layer):
    """StyleGAN2 generator; drop-in for ppgan's ``StyleGANv2Generator`` (same keys and outputs).

    Extra options: ``channel_base``/``channel_max`` (feature-map table), ``fused_modconv``
    (True: grouped per-sample weights; False, the default: shared-weight conv with activation scaling,
    measured faster on CPU), ``w_avg_beta`` (tracked mean of W used for truncation).
    """

    def __init__(self, size, style_dim=512, n_mlp=8, channel_multiplier=2, blur_kernel=(1, 3, 3, 1), lr_mlp=0.01,
                 is_concat=False, channel_base=16384, channel_max=512, fused_modconv=False, w_avg_beta=0.995):
        super().__init__()
        self.log_size = check_size(size)
        if style_dim <= 0 or n_mlp < 0:
            raise ConfigError(f"style_dim must be > 0 and n_mlp >= 0, got style_dim={style_dim}, n_mlp={n_mlp}")
        self.size, self.style_dim, self.is_concat = size, style_dim, is_concat
        self.fused_modconv, self.w_avg_beta = bool(fused_modconv), w_avg_beta
        blur_kernel = list(blur_kernel)

        self.style = nn.Sequential(PixelNorm(), *[
            EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="fused_lrelu") for _ in range(n_mlp)])

        self.channels = channel_table(size, channel_multiplier, channel_base, channel_max)
        cat = 2 if is_concat else 1
        c4 = self.channels[4]
        self.input = ConstantInput(c4)
        self.conv1 = StyledConv(c4, c4, 3, style_dim, blur_kernel=blur_kernel, is_concat=is_concat)
        self.to_rgb1 = ToRGB(c4 * cat, style_dim, upsample=False)

        self.num_layers = (self.log_size - 2) * 2 + 1
        self.n_latent = self.log_size * 2 - 2
        self.convs, self.to_rgbs = nn.LayerList(), nn.LayerList()
        self.noises = nn.Layer()
        for layer_idx in range(self.num_layers):
            res = 2 ** ((layer_idx + 5) // 2)
            self.noises.register_buffer(f"noise_{layer_idx}", paddle.randn([1, 1, res, res]))
        in_channel = c4
        for i in range(3, self.log_size + 1):
            out_channel = self.channels[2 ** i]
            self.convs.append(StyledConv(in_channel * cat, out_channel, 3, style_dim, upsample=True,
                                         blur_kernel=blur_kernel, is_concat=is_concat))
            self.convs.append(StyledConv(out_channel * cat, out_channel, 3, style_dim, blur_kernel=blur_kernel,
                                         is_concat=is_concat))
            self.to_rgbs.append(ToRGB(out_channel * cat, style_dim, blur_kernel=blur_kernel))
            in_channel = out_channel

        self.register_buffer("w_avg", paddle.zeros([style_dim]))
        self.register_buffer("w_avg_updates", paddle.zeros([1]))
        self._sampled_mean = None

    # ------------------------------------------------------------------ latent spaces
    def get_latent(self, z):
        """Mapping network: z ``[N, D]`` -> w ``[N, D]``."""
        return self.style(z)

    def mean_latent(self, n_latent):
        """Mean of ``n_latent`` mapped samples, ``[1, D]`` (ppgan's method)."""
        return self.style(paddle.randn([n_latent, self.style_dim])).mean(0, keepdim=True)

    def get_mean_style(self):
        """ppgan-compatible: mean over 10 x 1024 sampled w, without gradients."""
        with paddle.no_grad():
            return paddle.concat([self.mean_latent(1024) for _ in range(10)]).mean(0, keepdim=True)

    @property
    def w_avg_tracked(self):
        return bool(self.w_avg_updates.item() > 0)

    @paddle.no_grad()
    def update_w_avg(self, w, beta=None):
        """``w_avg <- lerp(mean(w), w_avg, beta)`` (NVlabs); called by the training model."""
        beta = self.w_avg_beta if beta is None else beta
        w = w.detach().reshape([-1, self.style_dim]).astype("float32")
        self.w_avg.set_value(w.mean(0) + (self.w_avg - w.mean(0)) * beta)
        self.w_avg_updates.set_value(self.w_avg_updates + 1)
        self._sampled_mean = None

    def truncation_mean(self):
        """Centre of truncation ``[1, D]``: tracked ``w_avg``, else a sampled mean (cached)."""
        if self.w_avg_tracked:
            return self.w_avg.unsqueeze(0)
        if self._sampled_mean is None:
            self._sampled_mean = self.get_mean_style()
        return self._sampled_mean

    def set_state_dict(self, state_dict, use_structured_name=True):
        """Loads ppgan files too: a file without ``w_avg`` resets tracking (sampled mean is used)."""
        state_dict = dict(state_dict)
        if "w_avg" not in state_dict:
            state_dict["w_avg"] = paddle.zeros([self.style_dim])
            state_dict["w_avg_updates"] = paddle.zeros([1])
        self._sampled_mean = None
        return super().set_state_dict(state_dict, use_structured_name=use_structured_name)

    # ------------------------------------------------------------------ noise
    def make_noise(self):
        """One fresh noise map per resolution layer (ppgan's method): ``[1, 1, r, r]`` list."""
        noises = [paddle.randn([1, 1, 4, 4])]
        for i in range(3, self.log_size + 1):
            noises += [paddle.randn([1, 1, 2 ** i, 2 ** i]) for _ in range(2)]
        return noises

    def noise_shapes(self, batch=1):
        """Shapes of the explicit noise list ``forward`` expects."""
        if self.is_concat:
            return [[batch, self.channels[2 ** (j + 2)], 2 ** (j + 2), 2 ** (j + 2)] for j in range(self.log_size - 1)]
        return [[batch, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2)] for i in range(self.num_layers)]

    def _layer_noise(self, noise, randomize_noise, batch):
        """Noise for each StyledConv (conv1, convs...), from a mode string or an explicit list."""
        if noise is None:
            noise = "random" if randomize_noise else "const"
        expected = self.noise_shapes(batch)
        if isinstance(noise, str):
            if noise not in NOISE_MODES:
                raise ValueError(f"noise mode must be one of {NOISE_MODES} or a list of tensors, got {noise!r}")
            if noise == "const":
                if self.is_concat:
                    raise ValueError("is_concat generator: noise='const' is not available (the stored noise maps "
                                     f"have 1 channel); pass a list of {len(expected)} tensors of shapes {expected}")
                noise = [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
            else:
                make = paddle.randn if noise == "random" else paddle.zeros
                noise = [make(s) for s in expected]
        else:
            noise = list(noise)
            if len(noise) < len(expected):
                raise ValueError(f"noise: expected a list of {len(expected)} tensors of shapes {expected}, "
                                 f"got {len(noise)}")
            for i, (t, s) in enumerate(zip(noise, expected)):
                if t is None:
                    continue
                ok = list(t.shape[1:]) == s[1:] and t.shape[0] in (1, batch) and t.ndim == 4
                if not ok:
                    raise ValueError(f"noise[{i}] has shape {list(t.shape)}, expected {s}")
        if self.is_concat:
            per_res = [t if t is None or t.shape[0] == batch else t.expand([batch] + list(t.shape[1:]))
                       for t in noise[:len(expected)]]
            return [per_res[(i + 1) // 2] for i in range(self.num_layers)]
        return noise[:self.num_layers]

    # ------------------------------------------------------------------ S space
    def _modulated_layers(self):
        """Modulated convs in synthesis order with the W+ index each one reads."""
        layers = [(self.conv1.conv, 0), (self.to_rgb1.conv, 1)]
        for j in range(len(self.to_rgbs)):
            layers += [(self.convs[2 * j].conv, 1 + 2 * j), (self.convs[2 * j + 1].conv, 2 + 2 * j),
                       (self.to_rgbs[j].conv, 3 + 2 * j)]
        return layers

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
        out = self.conv1(out, styles[0], noise[0], fused, reference)
        skip = self.to_rgb1(out, styles[1], None, fused, reference)
        for j, to_rgb in enumerate(self.to_rgbs):
            s_a, s_b, s_rgb = styles[2 + 3 * j: 5 + 3 * j]
            out = self.convs[2 * j](out, s_a, noise[1 + 2 * j], fused, reference)
            out = self.convs[2 * j + 1](out, s_b, noise[2 + 2 * j], fused, reference)
            skip = to_rgb(out, s_rgb, skip, fused, reference)
        return skip

    # ------------------------------------------------------------------ forward
    def _broadcast(self, styles, inject_index):
        """List of 1 or 2 W / W+ tensors -> W+ ``[N, n_latent, D]`` (style mixing at inject_index)."""
        def plus(w):
            return w.unsqueeze(1).tile([1, self.n_latent, 1]) if w.ndim == 2 else w

        if len(styles) == 1:
            return plus(styles[0])
        if len(styles) != 2:
            raise ValueError(f"styles: expected a list of 1 or 2 latents, got {len(styles)}")
        if inject_index is None:
            inject_index = random.randint(1, self.n_latent - 1)
        first, second = plus(styles[0]), plus(styles[1])
        if inject_index <= 0:  # no empty slices (Paddle 2.6 rejects them)
            return second
        if inject_index >= self.n_latent:
            return first
        return paddle.concat([first[:, :inject_index], second[:, inject_index:]], axis=1)

    def truncate(self, latent, truncation, truncation_cutoff=None, truncation_latent=None):
        """``w' = avg + psi (w - avg)`` on W+ layers ``0 .. cutoff-1`` (all layers when cutoff is None)."""
        if truncation >= 1:
            return latent
        avg = self.truncation_mean() if truncation_latent is None else truncation_latent
        avg = avg.reshape([1, 1, self.style_dim])
        cutoff = self.n_latent if truncation_cutoff is None else int(truncation_cutoff)
        if not 0 <= cutoff <= self.n_latent:
            raise ConfigError(f"truncation_cutoff must be in [0, {self.n_latent}], got {truncation_cutoff}")
        if cutoff == 0:  # no layer truncated (and no empty slice: Paddle 2.6 rejects them)
            return latent
        head = avg + truncation * (latent[:, :cutoff] - avg)
        return paddle.concat([head, latent[:, cutoff:]], axis=1) if cutoff < self.n_latent else head

    def forward(self, styles, return_latents=False, inject_index=None, truncation=1.0, truncation_cutoff=None,
                truncation_latent=None, input_is_latent=False, noise=None, randomize_noise=True):
        if isinstance(styles, paddle.Tensor):
            styles = [styles]
        if not input_is_latent:
            styles = [self.style(s) for s in styles]
        latent = self._broadcast(styles, inject_index)
        latent = self.truncate(latent, truncation, truncation_cutoff, truncation_latent)
        image = self.synthesis(self.style_affine(latent), noise=noise, randomize_noise=randomize_noise)
        return image, (latent if return_latents else None)
