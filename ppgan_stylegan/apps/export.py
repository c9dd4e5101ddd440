"""Export a generator for Paddle Inference: ``paddle.jit.save`` of (z, psi) -> image; and as ONNX.

Truncation uses the generator's tracked ``w_avg`` (or, for a file without one, a sampled mean
computed once at export time and stored in the model), never a fresh random mean per call. The check runs the
saved files in Paddle Inference with its default configuration (on a CPU: oneDNN on), the runtime they are
deployed with, and through ``paddle.jit.load``. ``onnx``: paddle2onnx converts the saved files (the ``onnx``
extra), and ONNX Runtime runs the result against the dynamic graph on the same seeds.
"""
import os

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.images import grid, save_png
from ..networks.deploy import run_inference, run_onnx, save_static
from .base import GeneratorPredictor


class Exporter(GeneratorPredictor):
    needs_class = False  # a conditional generator is exported with a label input ``c``

    def export(self, prefix):
        return save_static(self.generator, prefix)


    def verify(self, prefix, model, seeds, psi=0.7):
        """Run the saved model (Paddle Inference, default configuration; and ``paddle.jit.load``) and the dynamic
        graph on ``seeds``; write ``<prefix>_check.png`` (dynamic row over the Paddle Inference row) and return
        ({'inference': max |difference|, 'jit.load': ...}, png path)."""
        z = self.z_from_seeds(seeds)
        psi_t = paddle.full([len(seeds), 1], psi, dtype="float32")
        c = self.generator.cycled_labels(len(seeds))  # (conditional: classes 0, 1, ... in turn)
        inputs = [z, psi_t] + ([] if c is None else [c])
        loaded = paddle.jit.load(prefix)
        loaded.eval()
        with paddle.no_grad():
            dynamic, reloaded = model(*inputs).numpy(), loaded(*inputs).numpy()
        arrays = [t.numpy() for t in inputs]
        deployed = run_inference(prefix, *arrays)
        path = save_png(grid(np.concatenate([dynamic, deployed]), nrow=len(seeds)), f"{prefix}_check.png")
        diffs = {"inference": _max_difference(dynamic, deployed, prefix),
                 "jit.load": _max_difference(dynamic, reloaded, prefix)}
        if os.path.isfile(prefix + ".onnx"):
            diffs["onnx"] = _max_difference(dynamic, run_onnx(prefix + ".onnx", *arrays), prefix)
        return diffs, path


def _max_difference(reference, other, prefix):
    """max |reference - other|, where both are finite: NaN images compare as NaN, and an equality check on them
    would pass (NaN > tolerance is false)."""
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(other))):
        raise UserError(f"{prefix}: the check images are not finite (NaN or infinity in the generator's output "
                        "or the export's); nothing to compare")
    return float(np.abs(reference - other).max())


