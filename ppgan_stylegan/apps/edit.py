"""Latent editing: move a W+ latent along a direction (file, SeFa) or one S-space channel."""
import os

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.images import save_grid
from .base import GeneratorPredictor


class LatentEditor(GeneratorPredictor):
    """Strips of images over a range of edit strengths."""

    def sefa_directions(self, layers=None):
        """Closed-form factorisation (SeFa, Shen & Zhou 2021): the right singular vectors of the
        stacked affine matrices A_l (``s_l = A_l w + b_l``) of the chosen W+ layers, strongest first.

        Returns (directions ``[D, D]`` as rows, singular values ``[D]``).
        """
        mats = []
        for lin, idx in self.generator.affine_layers():
            if layers is None or idx in layers:
                mats.append((lin.weight.numpy() * lin.scale).T)  # [C, D]
        if not mats:
            raise UserError(f"--layers selects no style layer (this generator has W+ layers 0-{self.n_latent - 1})")
        _, sv, vt = np.linalg.svd(np.concatenate(mats, axis=0).astype(np.float64), full_matrices=False)
        return vt.astype("float32"), sv

    def direction_from_file(self, path, name=None):
        """``.npy`` ``[D]`` / ``[n_latent, D]``, or a PaddleGAN directions ``.pdparams`` dict with ``name``."""
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        if path.endswith(".npy"):
            arr = np.load(path)
        else:
            try:
                table = paddle.load(path)
            except Exception as e:
                raise UserError(f"{path}: not a .npy or a Paddle directions file ({type(e).__name__})")
            if not isinstance(table, dict) or name not in table:
                names = sorted(table) if isinstance(table, dict) else []
                raise UserError(f"{path}: --name {name!r} not found; available: {', '.join(names[:20]) or 'none'}")
            arr = np.asarray(table[name])
        arr = np.asarray(arr, dtype="float32").reshape([-1, arr.shape[-1]])
        if arr.shape[-1] != self.style_dim or arr.shape[0] not in (1, self.n_latent):
            raise UserError(f"{path}: direction of shape {list(arr.shape)}, expected [{self.style_dim}] or "
                            f"[{self.n_latent}, {self.style_dim}]")
        return np.broadcast_to(arr, [self.n_latent, self.style_dim]).copy()

    def latent_strip(self, wplus, direction, strengths, layers=None, noise_mode="const", name="edit"):
        """Images of ``w + a * direction`` (on ``layers`` of W+, default all) for each strength a."""
        mask = np.zeros([self.n_latent, 1], "float32")
        mask[list(range(self.n_latent)) if layers is None else layers] = 1.0
        step = paddle.to_tensor(direction * mask)
        latents = paddle.concat([wplus + a * step for a in strengths])
        images = self.synthesize(latents, noise_mode).numpy()
        np.save(self.path(f"{name}.npy"), latents.numpy())
        return images, save_grid(images, self.path(f"{name}.png"), nrow=len(strengths))

    def s_space_strip(self, wplus, layer, channel, strengths, noise_mode="const", name="edit_s"):
        """Images with S-space channel ``channel`` of modulated layer ``layer`` shifted by each strength."""
        with paddle.no_grad():
            styles = self.generator.style_affine(wplus)
        if not 0 <= layer < len(styles):
            raise UserError(f"--layer {layer}: this generator has S layers 0-{len(styles) - 1}")
        width = styles[layer].shape[1]
        if not 0 <= channel < width:
            raise UserError(f"--channel {channel}: S layer {layer} has channels 0-{width - 1}")
        onehot = np.zeros([1, width], "float32")
        onehot[0, channel] = 1.0
        onehot = paddle.to_tensor(onehot)
        images = []
        with paddle.no_grad():
            for a in strengths:
                edited = list(styles)
                edited[layer] = styles[layer] + a * onehot
                images.append(self.generator.synthesis(edited, noise=noise_mode).numpy())
        images = np.concatenate(images)
        return images, save_grid(images, self.path(f"{name}.png"), nrow=len(strengths))
