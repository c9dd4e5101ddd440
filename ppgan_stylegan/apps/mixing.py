"""Style mixing: rows x columns grids of seeds, and per-layer blends of two saved latents."""
import numpy as np
import paddle

from ..core.images import grid, save_png, to_uint8
from ..core.ranges import parse_ranges
from .base import GeneratorPredictor

# NVlabs' convention for 1024 px (18 styles): coarse 4-8 px, middle 16-32 px, fine 64 px and up.
STYLE_PRESETS = {"coarse": (0, 4), "middle": (4, 8), "fine": (8, None)}


def parse_styles(spec, n_latent):
    """'coarse' | 'middle' | 'fine' | '0-3,6' -> sorted W+ layer indices (checked against n_latent)."""
    return parse_ranges(spec, "--styles", STYLE_PRESETS, n_latent, unit="styles")


class StyleMixer(GeneratorPredictor):
    """Rows x columns grid: cell (r, c) is row r's latent with column c's styles at ``layers``."""

    def mix(self, wa, wb, layers):
        """W+ of ``wa`` with the ``layers`` of ``wb`` (both ``[N, n_latent, D]``)."""
        mask = np.zeros([1, self.n_latent, 1], dtype="float32")
        mask[:, layers] = 1.0
        mask = paddle.to_tensor(mask)
        return wa * (1 - mask) + wb * mask

    def grid(self, row_seeds, col_seeds, layers, psi=1.0, cutoff=None, noise_mode="const"):
        w_rows = self.w_from_seeds(row_seeds, psi, cutoff)
        w_cols = self.w_from_seeds(col_seeds, psi, cutoff)
        row_imgs = self.synthesize(w_rows, noise_mode).numpy()
        col_imgs = self.synthesize(w_cols, noise_mode).numpy()
        n_r, n_c = len(row_seeds), len(col_seeds)
        wa = w_rows.unsqueeze(1).tile([1, n_c, 1, 1]).reshape([n_r * n_c, self.n_latent, self.style_dim])
        wb = w_cols.unsqueeze(0).tile([n_r, 1, 1, 1]).reshape([n_r * n_c, self.n_latent, self.style_dim])
        mixed = self.synthesize(self.mix(wa, wb, layers), noise_mode).numpy().reshape(
            [n_r, n_c] + list(row_imgs.shape[1:]))
        blank = np.full_like(row_imgs[:1], -1.0)
        cells = [blank] + [col_imgs[c:c + 1] for c in range(n_c)]
        for r in range(n_r):
            cells += [row_imgs[r:r + 1]] + [mixed[r, c:c + 1] for c in range(n_c)]
        path = save_png(grid(np.concatenate(cells), nrow=n_c + 1), self.path("style_mixing.png"))
        return {"rows": row_imgs, "cols": col_imgs, "mixed": mixed, "file": path}

    def blend(self, latent_a, latent_b, layers, noise_mode="const"):
        """One image: saved latent A with saved latent B's ``layers`` (A's own noise maps when its file has them);
        also saves the blended latent (``blend.npz``)."""
        (wa, noise), (wb, _) = self.load_latent(latent_a), self.load_latent(latent_b)
        w = self.mix(wa, wb, layers)
        img = self.synthesize(w, noise if noise is not None else noise_mode)
        self.save_latent(self.path("blend.npz"), w, noise)
        return img.numpy(), save_png(to_uint8(img)[0], self.path("blend.png"))
