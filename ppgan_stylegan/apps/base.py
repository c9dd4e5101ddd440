"""The one predictor base every application uses: load a generator, pick a device, seeds, outputs.

Weight files are read by ``core.state`` and ``networks.loading`` (checkpoints, weight files, PaddleGAN
files); the generator's shape comes from a config or from the shapes found in the weights.
"""
import os

import numpy as np
import paddle

from ..core.device import use_device
from ..core.errors import UserError
from ..core.images import center_crop_resize, read_rgb, to_tensor_range
from ..core.ranges import parse_ranges
from ..core.state import load_state
from ..data.datasets import z_from_seed
from ..networks.loading import build_generator


def parse_seeds(text, option="--seeds"):
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]."""
    return parse_ranges(text, option)


class GeneratorPredictor:
    """Base of all applications: a generator plus device, output folder and latent helpers."""

    def __init__(self, weights, config=None, device=None, output_dir="output", prefer=("gen_ema", "gen")):
        use_device(device)
        self.weights_path, self.config = weights, config
        state = load_state(weights)  # read once; not kept (a training checkpoint also holds D and optimizers)
        self.check_state(state)
        self.generator, self.source = build_generator(weights, config, prefer, state=state)
        self.build_extra(state)
        self.output_dir = output_dir
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:
            raise UserError(f"--outdir {output_dir!r}: cannot create ({e.strerror})")
        if not os.access(output_dir, os.W_OK):
            raise UserError(f"--outdir {output_dir!r}: not writable")

    def check_state(self, state):
        """Hook: subclasses reject a weight file that lacks what they need, before anything is built."""

    def build_extra(self, state):
        """Hook: subclasses build more networks from the same weight file (e.g. the pSp encoder)."""

    @property
    def n_latent(self):
        return self.generator.n_latent

    @property
    def style_dim(self):
        return self.generator.style_dim

    def path(self, name):
        return os.path.join(self.output_dir, name)

    def z_from_seeds(self, seeds):
        """z ``[len(seeds), D]`` by NVlabs' seed convention."""
        return paddle.to_tensor(np.stack([z_from_seed(s, self.style_dim) for s in seeds]))

    def w_from_seeds(self, seeds, psi=1.0, cutoff=None):
        """W+ ``[len(seeds), n_latent, D]`` for seeds (truncated towards the tracked ``w_avg``)."""
        with paddle.no_grad():
            w = self.generator.get_latent(self.z_from_seeds(seeds))
            wplus = w.unsqueeze(1).tile([1, self.n_latent, 1])
            return self.generator.truncate(wplus, psi, cutoff)

    def synthesize(self, wplus, noise_mode="const", batch=16):
        """Images ``[N, 3, H, W]`` in [-1, 1] from W+ latents, in batches."""
        outs = []
        with paddle.no_grad():
            for i in range(0, wplus.shape[0], batch):
                img, _ = self.generator([wplus[i:i + batch]], input_is_latent=True, noise=noise_mode)
                outs.append(img)
        return paddle.concat(outs)

    def load_image(self, path, rgb=None):
        """An image file (or its RGB array) -> ``[1, 3, size, size]`` in [-1, 1]: center crop, Lanczos resize."""
        rgb = read_rgb(path) if rgb is None else rgb
        img = center_crop_resize(rgb, self.generator.size)
        return paddle.to_tensor(to_tensor_range(np.asarray(img))[None])

    def load_latent(self, path):
        """A saved latent (.npy): W ``[D]`` / ``[1, D]`` or W+ ``[n_latent, D]`` -> W+ ``[1, n_latent, D]``."""
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        try:
            arr = np.load(path).astype("float32")
        except Exception as e:
            raise UserError(f"{path}: not a .npy array ({type(e).__name__})")
        arr = arr.reshape([-1, arr.shape[-1]]) if arr.ndim else arr
        if arr.shape[-1] != self.style_dim or arr.shape[0] not in (1, self.n_latent):
            raise UserError(f"{path}: latent of shape {list(arr.shape)}, expected [{self.style_dim}] or "
                            f"[{self.n_latent}, {self.style_dim}] for this generator")
        if arr.shape[0] == 1:
            arr = np.repeat(arr, self.n_latent, axis=0)
        return paddle.to_tensor(arr[None])
