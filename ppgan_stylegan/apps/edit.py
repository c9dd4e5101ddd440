"""Latent editing: move a W+ latent along a direction (file, SeFa) or one S-space channel."""
import os

import numpy as np
import paddle

from ..core.checks import check_finite
from ..core.errors import UserError
from ..core.images import save_grid
from ..core.state import load_state
from .base import GeneratorPredictor


class LatentEditor(GeneratorPredictor):
    """Strips of images over a range of edit strengths."""

    def sefa_directions(self, layers=None):
        """Closed-form factorisation (SeFa, Shen & Zhou 2021): the right singular vectors of the
        stacked affine matrices A_l (``s_l = A_l w + b_l``) of the chosen W+ layers, strongest first.

        Returns (directions ``[D, D]`` as rows, singular values ``[D]``); computed once per layer choice (the
        generator is frozen here): several ``sefa:K`` directions of one edit share one factorisation.
        """
        key = None if layers is None else tuple(sorted(layers))
        cache = vars(self).setdefault("_sefa", {})
        if key not in cache:
            cache[key] = self._factorise(layers)
        return cache[key]

    def _factorise(self, layers):
        mats = []
        for lin, idx in self.generator.affine_layers():
            if layers is None or idx in layers:
                mats.append((lin.weight.numpy() * lin.scale).T)  # [C, D]
        if not mats:
            raise UserError(f"--layers selects no style layer (this generator has W+ layers 0-{self.n_latent - 1})")
        _, sv, vt = np.linalg.svd(np.concatenate(mats, axis=0).astype(np.float64), full_matrices=False)
        return vt.astype("float32"), sv

    def direction_from_file(self, path, name=None):
        """``.npy`` ``[D]`` / ``[n_latent, D]``, or a PaddleGAN directions ``.pdparams`` dict with ``name``
        -> ``[n_latent, D]``."""
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        if path.endswith(".npy"):
            arr = np.load(path)
        else:
            table = load_state(path)  # (a UserError names what is wrong with it)
            names = sorted(table) if isinstance(table, dict) else []
            if name is None:
                raise UserError(f"{path}: a directions file; name one as {path}:NAME (available: "
                                f"{', '.join(names[:20]) or 'none'})")
            if name not in names:
                raise UserError(f"{path}: no direction {name!r}; available: {', '.join(names[:20]) or 'none'}")
            arr = np.asarray(table[name])
        arr = np.asarray(arr, dtype="float32").reshape([-1, arr.shape[-1]])
        if arr.shape[-1] != self.style_dim or arr.shape[0] not in (1, self.n_latent):
            raise UserError(f"{path}: direction of shape {list(arr.shape)}, expected [{self.style_dim}] or "
                            f"[{self.n_latent}, {self.style_dim}]")
        check_finite(path, arr)
        return np.broadcast_to(arr, [self.n_latent, self.style_dim]).copy()

    def direction(self, spec, sefa_layers=None):
        """One direction ``[n_latent, D]`` from its command-line form: ``sefa:K`` (the K-th SeFa direction, from
        ``sefa_layers``), ``file.npy`` or ``file.pdparams:NAME``."""
        if spec.startswith("sefa:"):
            try:
                k = int(spec[5:])
            except ValueError:
                raise UserError(f"--direction {spec}: expected sefa:K with an integer K")
            directions, _ = self.sefa_directions(sefa_layers)
            if not 0 <= k < len(directions):
                raise UserError(f"--direction {spec}: SeFa directions 0-{len(directions) - 1} exist")
            return np.broadcast_to(directions[k][None], [self.n_latent, self.style_dim]).copy()
        path, name = spec, None
        if ".pdparams:" in spec:
            path, name = spec.rsplit(":", 1)
        return self.direction_from_file(path, name)

    def combine(self, weighted, sefa_layers=None):
        """``sum_i weight_i * direction_i`` for ``[(spec, weight), ...]`` (the seed's editing module: several
        attribute directions applied at once with their weights) -> ``[n_latent, D]``."""
        return sum(weight * self.direction(spec, sefa_layers) for spec, weight in weighted)

    def latent_strip(self, wplus, direction, strengths, layers=None, noise_mode="const", name="edit"):
        """Images of ``w + a * direction`` (on ``layers`` of W+, default all) for each strength a; ``noise_mode``
        may be a latent file's noise maps. Writes ``<name>.png``, the latents ``<name>.npy`` and the direction
        ``direction.npy``."""
        mask = np.zeros([self.n_latent, 1], "float32")
        mask[list(range(self.n_latent)) if layers is None else layers] = 1.0
        direction = np.asarray(direction, "float32") * mask
        step = paddle.to_tensor(direction)
        latents = paddle.concat([wplus + a * step for a in strengths])
        images = self.synthesize(latents, noise_mode).numpy()
        np.save(self.path(f"{name}.npy"), latents.numpy())
        np.save(self.path("direction.npy"), direction)
        return images, save_grid(images, self.path(f"{name}.png"), nrow=len(strengths))

    def s_space_strip(self, wplus, layer, channel, strengths, noise_mode="const", name="edit_s"):
        """Images with S-space channel ``channel`` of modulated layer ``layer`` shifted by each strength."""
        images = self.edited(wplus, None, strengths, (layer, channel, 1.0), noise_mode)
        return images, save_grid(images, self.path(f"{name}.png"), nrow=len(strengths))

    def edited(self, wplus, direction, strengths, s_edit=None, noise_mode="const"):
        """Images ``[len(strengths), C, H, W]``: for each strength a, W+ ``wplus + a * direction`` (``[n_latent, D]``
        or None) and, with ``s_edit = (layer, channel, amount)``, S-space channel ``channel`` of modulated layer
        ``layer`` moved by ``a * amount`` on top (several edits at once: the web app); a = 0 is the start image."""
        step = None if direction is None else paddle.to_tensor(np.asarray(direction, "float32"))
        latents = paddle.concat([wplus if step is None else wplus + a * step for a in strengths])
        if s_edit is None:
            return self.synthesize(latents, noise_mode).numpy()
        layer, channel, amount = s_edit
        with paddle.no_grad():
            styles = self.generator.style_affine(latents)
            self._check_s_channel(styles, layer, channel)
            shift = np.zeros([len(strengths), styles[layer].shape[1]], "float32")
            shift[:, channel] = np.asarray(strengths, "float32") * amount
            styles[layer] = styles[layer] + paddle.to_tensor(shift)
            return self.generator.synthesis(styles, noise=noise_mode).numpy()

    @staticmethod
    def _check_s_channel(styles, layer, channel):
        if not 0 <= layer < len(styles):
            raise UserError(f"--layer {layer}: this generator has S layers 0-{len(styles) - 1}")
        width = styles[layer].shape[1]
        if not 0 <= channel < width:
            raise UserError(f"--channel {channel}: S layer {layer} has channels 0-{width - 1}")
