"""A generator as it is deployed: the exported module (z, psi) -> image, and the runtimes that run its files.

``TruncatedGenerator`` is what ``export`` saves with ``paddle.jit.save``; ``inference_runner`` runs the saved files
in Paddle Inference (its default configuration: on a CPU, oneDNN on), ``export_onnx`` converts them with
paddle2onnx (the ``onnx`` extra; Paddle 3) and ``onnx_runner`` runs the result in ONNX Runtime. Used by
``apps.export`` and the deployment benchmark.
"""
import os

import numpy as np
import paddle
import paddle.inference as paddle_infer
import paddle.nn as nn

from ..core.errors import UserError
from ..core.extras import require_extra


class TruncatedGenerator(nn.Layer):
    """``forward(z [N, D], psi [N, 1]) -> image [N, C, H, W]`` (the generator's channels and shape) with constant
    noise; a class-conditional generator takes labels ``c [N, c_dim]`` too (one-hot for classes)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator
        with paddle.no_grad():
            self.register_buffer("w_center", generator.truncation_mean().reshape([1, generator.style_dim]).clone())

    def forward(self, z, psi, c=None):
        gen = self.generator
        w = gen.get_latent(z, c)
        w = self.w_center + psi * (w - self.w_center)
        wplus = w.unsqueeze(1).tile([1, gen.n_latent, 1])
        return gen.synthesis(gen.style_affine(wplus), noise="const")


def save_static(generator, prefix):
    """``paddle.jit.save`` of ``TruncatedGenerator(generator)`` at ``prefix`` (inputs ``z [N, D]``, ``psi [N, 1]``
    and, conditional, ``c [N, c_dim]``); returns the module (in eval mode)."""
    model = TruncatedGenerator(generator)
    model.eval()
    specs = [paddle.static.InputSpec([None, generator.style_dim], "float32", "z"),
             paddle.static.InputSpec([None, 1], "float32", "psi")]
    if getattr(generator, "c_dim", 0):
        specs.append(paddle.static.InputSpec([None, generator.c_dim], "float32", "c"))
    paddle.jit.save(paddle.jit.to_static(model, input_spec=specs, full_graph=True), prefix)
    return model


ONNX_TOLERANCE = 1e-4
ONNX_OPSET = 13


def export_onnx(prefix):
    """``<prefix>.onnx`` from the files ``paddle.jit.save`` wrote at ``prefix`` (paddle2onnx); returns its path."""
    if int(paddle.__version__.split(".")[0]) < 3 and paddle.__version__ != "0.0.0":  # (0.0.0: a develop build)
        raise UserError(f"export --onnx needs Paddle 3 (paddle2onnx 2.x converts Paddle 3 programs only); this is "
                        f"Paddle {paddle.__version__}: export under Paddle 3, or deploy the Paddle Inference files")
    paddle2onnx = require_extra("paddle2onnx", "export --onnx", "onnx")
    path = prefix + ".onnx"
    paddle2onnx.export(model_file(prefix), prefix + ".pdiparams", path, opset_version=ONNX_OPSET, verbose=False)
    return path


def onnx_runner(path):
    """``fn(z [N, D], psi [N, 1], c=None) -> images`` (numpy) of the ONNX generator at ``path`` in ONNX Runtime
    (CPU)."""
    ort = require_extra("onnxruntime", "export --onnx", "onnx")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def run(z, psi, c=None):
        feeds = {"z": z, "psi": psi} if c is None else {"z": z, "psi": psi, "c": c}
        return session.run(None, {k: np.asarray(v, "float32") for k, v in feeds.items()})[0]
    return run


def run_onnx(path, z, psi, c=None):
    return onnx_runner(path)(z, psi, c)


def model_file(prefix):
    """The program file ``paddle.jit.save`` wrote: ``.json`` (Paddle 3, PIR) or ``.pdmodel``."""
    return next(prefix + ext for ext in (".json", ".pdmodel") if os.path.isfile(prefix + ext))


INFERENCE_GPU_POOL_MB = 256  # the GPU memory pool Paddle Inference starts with (it grows as needed)


def inference_config(prefix):
    """Paddle Inference's default configuration for the exported generator at ``prefix`` on the current device
    (``paddle.get_device()``): on ``gpu:K`` the GPU one (``enable_use_gpu``: Config itself defaults to the CPU),
    else the CPU one (oneDNN on)."""
    config = paddle_infer.Config(model_file(prefix), prefix + ".pdiparams")
    device = paddle.get_device()
    if device.startswith("gpu"):
        config.enable_use_gpu(INFERENCE_GPU_POOL_MB, int(device.split(":")[1]) if ":" in device else 0)
    else:
        config.disable_gpu()
    if os.environ.get("GLOG_minloglevel", "0") not in ("", "0"):  # Paddle's INFO lines silenced (our command
        config.disable_glog_info()  # lines without --verbose): its pass-by-pass log too
    return config


def inference_runner(prefix):
    """``fn(z [N, D], psi [N, 1], c=None) -> images`` (numpy) of the exported generator at ``prefix`` in Paddle
    Inference with its default configuration for the current device (``inference_config``)."""
    predictor = paddle_infer.create_predictor(inference_config(prefix))

    def run(z, psi, c=None):
        for name, value in zip(predictor.get_input_names(), (z, psi) if c is None else (z, psi, c)):
            handle = predictor.get_input_handle(name)
            handle.reshape(value.shape)
            handle.copy_from_cpu(np.ascontiguousarray(value, dtype="float32"))
        predictor.run()
        return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    return run


def run_inference(prefix, z, psi, c=None):
    """Images of the exported generator at ``prefix`` for ``z [N, D]``, ``psi [N, 1]`` (and labels ``c``) in Paddle
    Inference."""
    return inference_runner(prefix)(z, psi, c)
