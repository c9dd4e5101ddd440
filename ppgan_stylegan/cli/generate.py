"""Generate images from seeds: one grid (default) or one PNG per seed, plus each seed's W+ latent (.npy).

    ppgan-stylegan generate --weights output/demo/<run>/iter_2600_weight.pdparams --seeds 0-15
    ppgan-stylegan generate --weights g.pdparams --seeds 0-7 --trunc 0.7 --trunc-cutoff 8 --per-seed
"""
from ..apps import ImageGenerator, parse_seeds
from .common import add_generator_args, add_truncation, predictor_args

HELP = "images (and W+ latents) from seeds (applications/generate.py)"


def add_arguments(p):
    add_generator_args(p)
    p.add_argument("--seeds", default="0-15", help="seeds, e.g. 0-15,42")
    add_truncation(p)
    p.add_argument("--per-seed", action="store_true", help="one PNG per seed instead of a grid")
    p.add_argument("--no-latents", action="store_true", help="do not save seedNNNN.npy W+ latents")


def run(args):
    app = ImageGenerator(**predictor_args(args))
    seeds = parse_seeds(args.seeds)
    _, files = app.generate(seeds, args.trunc, args.trunc_cutoff, args.noise_mode, as_grid=not args.per_seed,
                            save_latents=not args.no_latents)
    print(f"generated {len(seeds)} image(s) from {app.source} -> {files[0] if len(files) == 1 else args.outdir}")
    return 0
