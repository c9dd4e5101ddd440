"""Export a generator for Paddle Inference: ``paddle.jit.save`` of (z, psi) -> image.

Truncation uses the generator's tracked ``w_avg`` (or, for a file without one, a sampled mean
computed once at export time and stored in the model), never a fresh random mean per call.
"""
import numpy as np
import paddle
import paddle.nn as nn

from ..core.images import grid, save_png
from .base import GeneratorPredictor


class TruncatedGenerator(nn.Layer):
    """``forward(z [N, D], psi [N, 1]) -> image [N, 3, H, W]`` with constant noise."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        with paddle.no_grad():
            self.register_buffer("w_center", generator.truncation_mean().reshape([1, generator.style_dim]).clone())

    def forward(self, z, psi):
        gen = self.generator
        w = gen.style(z)
        w = self.w_center + psi * (w - self.w_center)
        wplus = w.unsqueeze(1).tile([1, gen.n_latent, 1])
        return gen.synthesis(gen.style_affine(wplus), noise="const")


class Exporter(GeneratorPredictor):
    def export(self, prefix):
        model = TruncatedGenerator(self.generator)
        model.eval()
        specs = [paddle.static.InputSpec([None, self.style_dim], "float32", "z"),
                 paddle.static.InputSpec([None, 1], "float32", "psi")]
        paddle.jit.save(paddle.jit.to_static(model, input_spec=specs, full_graph=True), prefix)
        return model

    def verify(self, prefix, model, seeds, psi=0.7):
        """Run the saved model and the dynamic graph on ``seeds``; write ``<prefix>_check.png`` (dynamic row over
        exported row) and return (max |difference|, png path)."""
        z = self.z_from_seeds(seeds)
        psi_t = paddle.full([len(seeds), 1], psi, dtype="float32")
        loaded = paddle.jit.load(prefix)
        loaded.eval()
        with paddle.no_grad():
            dynamic, exported = model(z, psi_t).numpy(), loaded(z, psi_t).numpy()
        path = save_png(grid(np.concatenate([dynamic, exported]), nrow=len(seeds)), f"{prefix}_check.png")
        return float(np.abs(dynamic - exported).max()), path
