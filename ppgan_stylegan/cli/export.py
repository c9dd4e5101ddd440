"""Export gen_ema (or a PaddleGAN generator) for Paddle Inference: inputs (z [N, D], psi [N, 1]) -> images.

    ppgan-stylegan export --weights output/demo-latest
    ppgan-stylegan export --weights output/stylegan_v2_256-latest --name stylegan2_256
Writes generator.pdmodel (or .json) and generator.pdiparams into the run folder via paddle.jit.save;
truncation uses the tracked w_avg. Then runs the saved files in Paddle Inference (its default configuration:
on a CPU, oneDNN on) and through paddle.jit.load, and the dynamic graph, on --check-seeds: generator_check.png
(dynamic over Paddle Inference). --onnx also writes generator.onnx (paddle2onnx, the onnx extra: pip install
-e .[onnx]) and checks it in ONNX Runtime; a difference above 1e-4 from the dynamic graph is an error.
"""
import os

from ..apps import parse_seeds
from ..apps.export import Exporter
from ..networks.deploy import ONNX_TOLERANCE, export_onnx
from ..core.checks import arg_float
from .common import add_generator_args, predictor_args

HELP = "save gen_ema for Paddle Inference and check it (tools/export.py)"
PREFIX = "generator"


def add_arguments(p):
    add_generator_args(p)
    p.add_argument("--check-seeds", default="0-7", help="seeds run through both models for generator_check.png")
    p.add_argument("--check-trunc", "--check-psi", type=arg_float(), default=0.7,
                   help="truncation psi of the check (--check-psi: its former name)")
    p.add_argument("--onnx", action="store_true",
                   help="also write generator.onnx (needs the onnx extra) and check it in ONNX Runtime")


def run(args):
    app = Exporter(**predictor_args(args))
    prefix = os.path.join(app.output_dir, PREFIX)
    model = app.export(prefix)
    if args.onnx:
        export_onnx(prefix)
    diff, _ = app.verify(prefix, model, parse_seeds(args.check_seeds, "--check-seeds"), args.check_trunc)
    height, width = app.generator.image_shape
    print(f"exported {app.source} ({width}x{height} px, {app.generator.img_channels} channel(s), style_dim "
          f"{app.style_dim}) -> {prefix}; "
          f"Paddle Inference vs dynamic graph: max |diff| {diff['inference']:.3g} "
          f"(paddle.jit.load: {diff['jit.load']:.3g})")
    if args.onnx:
        print(f"ONNX: {prefix}.onnx; ONNX Runtime vs dynamic graph: max |diff| {diff['onnx']:.3g}")
        if diff["onnx"] > ONNX_TOLERANCE:
            raise RuntimeError(f"{prefix}.onnx: ONNX Runtime differs from the dynamic graph by {diff['onnx']:.3g} "
                               f"(more than {ONNX_TOLERANCE}): a conversion bug; the Paddle Inference files are fine")
    print(f"output: {app.output_dir}")
    return 0
