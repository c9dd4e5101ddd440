"""The one predictor base every application uses: load a generator, pick a device, seeds, outputs.

Weight files are read by ``ppgan_stylegan.weights`` (checkpoints, weight files, PaddleGAN files);
the generator's shape comes from a config or from the shapes found in the weights.
"""
import os
import re
import sys
import traceback

import numpy as np
import paddle
from PIL import Image

from ..datasets import load_rgb, to_tensor_range
from ..weights import UserError, build_generator, load_state  # noqa: F401  (UserError, build_generator: re-exported)


def parse_seeds(text):
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UserError(f"--seeds: cannot read {part!r} (use e.g. 0-15,20)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise UserError(f"--seeds: empty range {part!r}")
        seeds += list(range(lo, hi + 1))
    return seeds


def z_from_seed(seed, style_dim):
    """NVlabs' convention: z = RandomState(seed).randn(style_dim)."""
    return np.random.RandomState(seed).standard_normal(style_dim).astype("float32")


class GeneratorPredictor:
    """Base of all applications: a generator plus device, output folder and latent helpers."""

    def __init__(self, weights, config=None, device=None, output_dir="output", prefer=("gen_ema", "gen")):
        device = device or ("gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() else "cpu")
        paddle.set_device(device)
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

    def w_from_seeds(self, seeds, psi=1.0, cutoff=None):
        """W+ ``[len(seeds), n_latent, D]`` for seeds (truncated towards the tracked ``w_avg``)."""
        z = paddle.to_tensor(np.stack([z_from_seed(s, self.style_dim) for s in seeds]))
        with paddle.no_grad():
            w = self.generator.get_latent(z)
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

    @staticmethod
    def read_rgb(path):
        """RGB uint8 ``[H, W, 3]`` of an image file, or a one-line UserError."""
        try:
            return load_rgb(path)
        except FileNotFoundError:
            raise UserError(f"{path}: no such file")
        except Exception as e:
            raise UserError(f"{path}: not a readable image ({type(e).__name__})")

    def load_image(self, path, rgb=None):
        """An image file (or its RGB array) -> ``[1, 3, size, size]`` in [-1, 1]: center crop, Lanczos resize."""
        rgb = self.read_rgb(path) if rgb is None else rgb
        h, w = rgb.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        img = Image.fromarray(np.ascontiguousarray(rgb[top:top + side, left:left + side]))
        size = self.generator.size
        img = img.resize((size, size), Image.LANCZOS) if side != size else img
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


def run_cli(main, argv=None, user_errors=(UserError,)):
    """Run a command-line main: user errors become one line on stderr and exit code 2 (--debug: traceback)."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        return main(argv)
    except user_errors as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
