"""What every style-based generator here shares: the latent spaces around its synthesis network.

z -> (``style``, the mapping network) -> W -> broadcast / style mixing -> W+ ``[N, n_latent, D]`` -> truncation
towards the tracked ``w_avg`` -> (``style_affine``) -> S -> (``synthesis``) -> image. A subclass builds ``style``,
``noises`` (buffers ``noise_0 ..``) and implements ``noise_shapes``, ``style_affine`` and ``synthesis``;
``forward`` has ppgan's ``StyleGANv2Generator`` signature for both StyleGAN (v1) and StyleGAN2.
"""
import random

import paddle
import paddle.nn as nn

from ...core.compat import write_
from ...core.errors import ConfigError
from ...ops import pixel_norm

NOISE_MODES = ("random", "const", "none")


class StyleGeneratorBase(nn.Layer):
    """Latent spaces, ``w_avg`` tracking, truncation, style mixing and noise handling."""

    is_concat = False

    def _init_latent_space(self, style_dim, n_latent, w_avg_beta):
        self.style_dim, self.n_latent, self.w_avg_beta = style_dim, n_latent, w_avg_beta
        self.register_buffer("w_avg", paddle.zeros([style_dim]))
        self.register_buffer("w_avg_updates", paddle.zeros([1]))
        self._sampled_mean = None

    # ------------------------------------------------------------------ labels (conditional networks)
    c_dim = 0  # label width; 0: unconditional (a subclass with labels has ``embed``, NVlabs' label embedding)

    def one_hot(self, classes):
        """Class indices -> labels ``c`` ``[N, c_dim]`` (one-hot floats, NVlabs' form)."""
        classes = [int(k) for k in classes]
        bad = [k for k in classes if not 0 <= k < self.c_dim]
        if bad:
            raise ConfigError(f"class {bad[0]}: this generator has classes 0-{self.c_dim - 1}" if self.c_dim
                              else f"class {bad[0]}: this generator is unconditional (no classes)")
        return paddle.nn.functional.one_hot(paddle.to_tensor(classes, "int64"), self.c_dim).astype("float32")

    def cycled_labels(self, n):
        """Labels of ``n`` samples whose classes go round 0, 1, ..., c_dim - 1 (grids, walks, checks); None for an
        unconditional generator."""
        return self.one_hot([i % self.c_dim for i in range(n)]) if self.c_dim else None

    def random_labels(self, n):
        """``n`` labels of uniformly drawn classes (None for an unconditional generator)."""
        if not self.c_dim:
            return None
        return paddle.nn.functional.one_hot(paddle.randint(0, self.c_dim, [n]), self.c_dim).astype("float32")

    # ------------------------------------------------------------------ latent spaces
    def get_latent(self, z, c=None):
        """Mapping network: z ``[N, D]`` (and, when conditional, labels c ``[N, c_dim]``) -> w ``[N, D]``.

        Conditional: ``conditional_mapping`` (StyleGAN2: stylegan2-ada-pytorch's ``MappingNetwork``; v1: NVIDIA's
        ``G_mapping``)."""
        if not self.c_dim:
            return self.style(z)
        if c is None:
            raise ValueError(f"{type(self).__name__} has c_dim={self.c_dim}: labels c [N, {self.c_dim}] are needed")
        if paddle.in_dynamic_mode():  # (static graphs: shapes of -1)
            assert list(c.shape) == [z.shape[0], self.c_dim], f"c: expected [{z.shape[0]}, {self.c_dim}], got {c.shape}"
        return self.conditional_mapping(z, c)

    def conditional_mapping(self, z, c):
        """stylegan2-ada-pytorch's: z and the embedded label, each normalised, concatenated, the dense layers."""
        x = paddle.concat([pixel_norm(z), pixel_norm(self.embed(c))], axis=1)
        for layer in list(self.style)[1:]:  # (style[0] is the pixel norm of z)
            x = layer(x)
        return x

    def mean_latent(self, n_latent, c=None):
        """Mean of ``n_latent`` mapped samples, ``[1, D]`` (ppgan's method; conditional: of ``c``, else over
        uniformly drawn classes)."""
        c = self.random_labels(n_latent) if c is None else c
        return self.get_latent(paddle.randn([n_latent, self.style_dim]), c).mean(0, keepdim=True)

    def get_mean_style(self):
        """ppgan-compatible: mean over 10 x 1024 sampled w, without gradients."""
        with paddle.no_grad():
            return paddle.concat([self.mean_latent(1024) for _ in range(10)]).mean(0, keepdim=True)

    @property
    def w_avg_tracked(self):
        return bool(self.w_avg_updates.item() > 0)

    @paddle.no_grad()
    def update_w_avg(self, w, beta=None):
        """``w_avg <- lerp(mean(w), w_avg, beta)`` (NVlabs' ``dlatent_avg``); called by the training model."""
        beta = self.w_avg_beta if beta is None else beta
        w = w.detach().reshape([-1, self.style_dim]).astype("float32")
        write_(self.w_avg, w.mean(0) + (self.w_avg - w.mean(0)) * beta)
        write_(self.w_avg_updates, self.w_avg_updates + 1)
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
    def noise_shapes(self, batch=1):
        """Shapes of the explicit noise list ``forward`` expects."""
        raise NotImplementedError

    def _per_layer_noise(self, noise, batch):
        """The validated noise list -> one entry per noise-taking layer (a hook for layouts that share maps)."""
        return noise

    def _layer_noise(self, noise, randomize_noise, batch):
        """Noise for each noise-taking layer, from a mode string or an explicit list."""
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
                noise = [getattr(self.noises, f"noise_{i}") for i in range(len(expected))]
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
        return self._per_layer_noise(noise[:len(expected)], batch)

    # ------------------------------------------------------------------ S space
    def affine_layers(self):
        """The affine maps W -> S (``EqualLinear``) in synthesis order, each with the W+ index it reads."""
        raise NotImplementedError

    # ------------------------------------------------------------------ W -> W+
    def mixing_layers(self):
        """W+ entries style mixing draws its crossover from (``[1, mixing_layers)``)."""
        return self.n_latent

    def draw_inject_index(self):
        """A random style-mixing crossover in ``[1, mixing_layers)`` (what ``forward`` draws when not given one)."""
        return random.randint(1, max(1, self.mixing_layers() - 1))

    def _broadcast(self, styles, inject_index):
        """List of 1 or 2 W / W+ tensors -> W+ ``[N, n_latent, D]`` (style mixing at inject_index)."""
        def plus(w):
            return w.unsqueeze(1).tile([1, self.n_latent, 1]) if w.ndim == 2 else w

        if len(styles) == 1:
            return plus(styles[0])
        if len(styles) != 2:
            raise ValueError(f"styles: expected a list of 1 or 2 latents, got {len(styles)}")
        if inject_index is None:
            inject_index = self.draw_inject_index()
        first, second = plus(styles[0]), plus(styles[1])
        if inject_index <= 0:  # no empty slices (Paddle 2.6 rejects them)
            return second
        if inject_index >= self.n_latent:
            return first
        return paddle.concat([first[:, :inject_index], second[:, inject_index:]], axis=1)

    def default_truncation(self):
        """(psi, cutoff) used when ``forward`` is given ``truncation=None``."""
        return 1.0, None

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

    # ------------------------------------------------------------------ forward
    def forward(self, styles, return_latents=False, inject_index=None, truncation=1.0, truncation_cutoff=None,
                truncation_latent=None, input_is_latent=False, noise=None, randomize_noise=True, c=None):
        """ppgan's signature (positional arguments as there); ``c``: labels ``[N, c_dim]`` of a conditional
        generator (NVlabs' ``G(z, c)``), mapped with every z."""
        if isinstance(styles, paddle.Tensor):
            styles = [styles]
        if not input_is_latent:
            styles = [self.get_latent(s, c) for s in styles]
        if truncation is None:
            truncation, default_cutoff = self.default_truncation()
            truncation_cutoff = default_cutoff if truncation_cutoff is None else truncation_cutoff
        latent = self._broadcast(styles, inject_index)
        latent = self.truncate(latent, truncation, truncation_cutoff, truncation_latent)
        image = self.synthesis(self.style_affine(latent), noise=noise, randomize_noise=randomize_noise)
        return image, (latent if return_latents else None)
