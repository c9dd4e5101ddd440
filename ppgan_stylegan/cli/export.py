"""Export gen_ema (or a PaddleGAN generator) for Paddle Inference: inputs (z [N, D], psi [N, 1]) -> images.

    ppgan-stylegan export --weights output_dir/<run>/iter_5000_weight.pdparams --out inference/stylegan2
Writes <out>.pdmodel / .json and <out>.pdiparams via paddle.jit.save; truncation uses the tracked w_avg.
Then runs the saved model and the dynamic graph on --check-seeds: <out>_check.png (dynamic over exported).
"""
import os

from ..apps import parse_seeds
from ..apps.export import Exporter
from .common import add_generator_args, predictor_args

HELP = "save gen_ema for Paddle Inference and check it (tools/export.py)"


def add_arguments(p):
    add_generator_args(p, outdir=None)
    p.add_argument("--out", default="inference/stylegan2", help="path prefix of the saved inference model")
    p.add_argument("--check-seeds", default="0-7", help="seeds run through both models for <out>_check.png")
    p.add_argument("--check-psi", type=float, default=0.7)


def run(args):
    args.outdir = os.path.dirname(os.path.abspath(args.out))
    app = Exporter(**predictor_args(args))
    model = app.export(args.out)
    diff, png = app.verify(args.out, model, parse_seeds(args.check_seeds, "--check-seeds"), args.check_psi)
    print(f"exported {app.source} ({app.generator.size}px, style_dim {app.style_dim}) -> {args.out}; "
          f"saved model vs dynamic graph: max |diff| {diff:.3g} ({png})")
    return 0
