"""Generation: images and W+ latents for a list of seeds, and images of saved latents."""
import os

import numpy as np
import paddle
from tqdm import tqdm

from ..core.errors import UserError
from ..core.images import save_grid, save_png, to_uint8
from .base import GeneratorPredictor


class ImageGenerator(GeneratorPredictor):
    """Images (and W+ latents) for a list of seeds."""

    def generate(self, seeds, psi=1.0, cutoff=None, noise_mode="const", as_grid=True, save_latents=True,
                 batch=8, name="seeds"):
        files = []
        images = []
        for i in tqdm(range(0, len(seeds), batch), desc="generating", unit="batch", disable=len(seeds) <= batch):
            chunk = seeds[i:i + batch]
            wplus = self.w_from_seeds(chunk, psi, cutoff)
            imgs = self.synthesize(wplus, noise_mode)
            images.append(imgs.numpy())
            for seed, w, img in zip(chunk, wplus.numpy(), imgs):
                if save_latents:
                    np.save(self.path(f"seed{seed:04d}.npy"), w)
                if not as_grid:
                    files.append(save_png(to_uint8(img)[0], self.path(f"seed{seed:04d}.png")))
        images = np.concatenate(images)
        if as_grid:
            files.append(save_grid(images, self.path(f"{name}.png")))
        return images, files

    def render_latents(self, paths, noise_mode="const", as_grid=True, name="latents"):
        """Images of saved latents (``.npy`` / ``.npz``; a file's own noise maps are used when it has them):
        a grid or one ``<file name>.png`` each."""
        images, files = [], []
        for path in paths:
            wplus, noise = self.load_latent(path)
            img = self.synthesize(wplus, noise if noise is not None else noise_mode).numpy()
            images.append(img)
            if not as_grid:
                stem = os.path.splitext(os.path.basename(path))[0]
                files.append(save_png(to_uint8(img)[0], self.path(f"{stem}.png")))
        images = np.concatenate(images)
        if as_grid:
            files.append(save_grid(images, self.path(f"{name}.png")))
        return images, files

    def walk(self, seeds, frames=24, psi=1.0, cutoff=None, noise_mode="const", batch=16):
        """A latent walk through the seeds' W and back to the first (``frames`` images from each seed to the next,
        linear in W, truncated as ``generate``): images ``[len(seeds) * frames, C, H, W]``."""
        if len(seeds) < 2 or frames < 1:
            raise UserError(f"--video: a walk needs 2 or more seeds and --frames >= 1, got {len(seeds)} seed(s) and "
                            f"{frames} frame(s)")
        ws = self.w_from_seeds(seeds, psi, cutoff).numpy()
        steps = np.arange(frames, dtype="float32") / frames
        path = np.concatenate([ws[i] + steps[:, None, None] * (ws[(i + 1) % len(ws)] - ws[i])[None]
                               for i in range(len(ws))])
        return self.synthesize(paddle.to_tensor(path), noise_mode, batch).numpy()

    def video(self, seeds, frames=24, fps=24, psi=1.0, cutoff=None, noise_mode="const", name="walk"):
        """``<name>.mp4`` (or a GIF without the video extra): ``walk`` as a looping video."""
        images = self.walk(seeds, frames, psi, cutoff, noise_mode)
        return images, [self.animation(images, name, fps)]
