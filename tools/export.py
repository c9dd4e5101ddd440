#!/usr/bin/env python
"""Export gen_ema (or a PaddleGAN generator) for Paddle Inference: inputs (z [N, D], psi [N, 1]) -> images.

    python tools/export.py --weights output_dir/<run>/iter_5000_weight.pdparams --out inference/stylegan2
Writes <out>.pdmodel / .json and <out>.pdiparams via paddle.jit.save; truncation uses the tracked w_avg.
Then runs the saved model and the dynamic graph on --check-seeds: <out>_check.png (dynamic over exported).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppgan_stylegan.apps import parse_seeds, run_cli  # noqa: E402
from ppgan_stylegan.apps.cli import common, parser  # noqa: E402
from ppgan_stylegan.apps.export import Exporter  # noqa: E402


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", default="inference/stylegan2", help="path prefix of the saved inference model")
    p.add_argument("--check-seeds", default="0-7", help="seeds run through both models for <out>_check.png")
    p.add_argument("--check-psi", type=float, default=0.7)
    args = p.parse_args(argv)
    args.outdir = os.path.dirname(os.path.abspath(args.out))
    app = Exporter(**common(args))
    model = app.export(args.out)
    diff, png = app.verify(args.out, model, parse_seeds(args.check_seeds), args.check_psi)
    print(f"exported {app.source} ({app.generator.size}px, style_dim {app.style_dim}) -> {args.out}; "
          f"saved model vs dynamic graph: max |diff| {diff:.3g} ({png})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
