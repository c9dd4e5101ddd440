#!/usr/bin/env python
"""Generate images from seeds: one grid (default) or one PNG per seed, plus each seed's W+ latent (.npy).

    python applications/generate.py --weights output/demo/<run>/iter_1600_weight.pdparams --seeds 0-15
    python applications/generate.py --weights g.pdparams --seeds 0-7 --trunc 0.7 --trunc-cutoff 8 --per-seed
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppgan_stylegan.apps import ImageGenerator, parse_seeds, run_cli  # noqa: E402
from ppgan_stylegan.apps.cli import add_truncation, common, parser  # noqa: E402


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0-15", help="seeds, e.g. 0-15,42")
    add_truncation(p)
    p.add_argument("--per-seed", action="store_true", help="one PNG per seed instead of a grid")
    p.add_argument("--no-latents", action="store_true", help="do not save seedNNNN.npy W+ latents")
    args = p.parse_args(argv)
    app = ImageGenerator(**common(args))
    seeds = parse_seeds(args.seeds)
    _, files = app.generate(seeds, args.trunc, args.trunc_cutoff, args.noise_mode, as_grid=not args.per_seed,
                            save_latents=not args.no_latents)
    print(f"generated {len(seeds)} image(s) from {app.source} -> {files[0] if len(files) == 1 else args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
