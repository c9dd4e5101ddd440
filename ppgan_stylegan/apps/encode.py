"""Encoding images with a trained pSp encoder: W+ latents and reconstructions."""
import json
import os

import numpy as np
import paddle
from tqdm import tqdm

from ..core.config import load_config
from ..core.errors import UserError
from ..core.images import grid, list_images, read_image, resize_batch, save_png, to_uint8
from ..networks.encoders import require_square_rgb
from ..networks.loading import encoder_from_state, encoder_state
from .align import LandmarkSource, align_face
from .base import GeneratorPredictor


class ImageEncoder(GeneratorPredictor):
    """pSp inference: a PSPModel checkpoint / weight file (encoder + the generator it inverts) or a
    PaddleGAN ``Pixel2Style2Pixel`` file (``encoder.*``, ``decoder.*``, ``latent_avg``)."""

    def __init__(self, weights, config=None, device=None, output_dir="output", **kwargs):
        super().__init__(weights, config, device, output_dir, prefer=("gen",), **kwargs)

    def build_extra(self, state):
        require_square_rgb(self.generator, self.weights_path)
        enc_cfg = None
        if self.config:
            enc_cfg = load_config(self.config).model.get("encoder")
        self.encoder = encoder_from_state(state, self.weights_path, enc_cfg)
        if (self.encoder.n_styles, self.encoder.style_dim) != (self.n_latent, self.style_dim):
            raise UserError(f"{self.weights_path}: encoder gives {self.encoder.n_styles} x {self.encoder.style_dim} "
                            f"codes, the generator takes {self.n_latent} x {self.style_dim}")

    def check_state(self, state):
        encoder_state(state, self.weights_path)

    def encode(self, images):
        """``[N, 3, S, S]`` in [-1, 1] -> W+ ``[N, n_latent, D]``."""
        with paddle.no_grad():
            return self.encoder(resize_batch(images, self.encoder.input_size))

    def encode_folder(self, folder, align=False, landmarks=None, batch=16):
        """Encode every image under ``folder``; writes ``<name>.npy``, ``<name>_recon.png``, a grid, a summary."""
        paths = list_images(folder) if os.path.isdir(folder) else [folder] if os.path.isfile(folder) else []
        if not paths:
            raise UserError(f"{folder}: no images (a folder of images or one image file)")
        if align:
            source = landmarks or LandmarkSource()
        inputs, recons, summary = [], [], {}
        for i in tqdm(range(0, len(paths), batch), desc="encoding", unit="batch", disable=len(paths) <= batch):
            chunk = paths[i:i + batch]
            targets = []
            for path in chunk:
                rgb = read_image(path)
                if align:
                    rgb = align_face(rgb, source(path, rgb), max(rgb.shape[:2]))
                targets.append(self.load_image(path, rgb))
            targets = paddle.concat(targets)
            codes = self.encode(targets)
            images = self.synthesize(codes)
            for path, code, image, target in zip(chunk, codes.numpy(), images, targets):
                name = os.path.splitext(os.path.basename(path))[0]
                np.save(self.path(f"{name}.npy"), code)
                save_png(to_uint8(image)[0], self.path(f"{name}_recon.png"))
                summary[name] = float(((image - target) ** 2).mean())
            inputs.append(targets.numpy())
            recons.append(images.numpy())
        inputs, recons = np.concatenate(inputs), np.concatenate(recons)
        n = min(len(inputs), 16)
        files = [save_png(grid(np.concatenate([inputs[:n], recons[:n]]), nrow=n), self.path("encode_grid.png"))]
        with open(self.path("encode_summary.json"), "w") as f:
            json.dump({"mse": summary, "mean_mse": float(np.mean(list(summary.values())))}, f, indent=1)
        files.append(self.path("encode_summary.json"))
        return summary, files
