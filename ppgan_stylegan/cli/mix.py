"""Style mixing: a grid of row seeds x column seeds, or the per-layer blend of two saved latents.

    ppgan-stylegan mix --weights output/demo-latest --rows 0-3 --cols 10-13 --styles coarse
    ppgan-stylegan mix --weights output/demo-latest --blend A.npy B.npz --styles 4-7
Cell (r, c) takes row r's latent and column c's styles at --styles: coarse, middle, fine (NVlabs'
4-8 px / 16-32 px / 64+ px layers) or explicit W+ layer ranges like 0-3,6; n_styles comes from the generator.
"""
from ..apps import StyleMixer, parse_seeds, parse_styles
from .common import add_generator_args, add_truncation, predictor_args

HELP = "style mixing grids and latent blends (applications/style_mixing.py)"


def add_arguments(p):
    add_generator_args(p)
    p.add_argument("--rows", default="0-3", help="row seeds (their coarse-to-fine structure is kept)")
    p.add_argument("--cols", default="10-13", help="column seeds (their --styles layers are taken)")
    p.add_argument("--styles", default="coarse", help="coarse | middle | fine | W+ layer ranges, e.g. 0-3,6")
    p.add_argument("--blend", nargs=2, metavar=("A", "B"),
                   help="blend two saved latents (.npy, or a project .npz with its noise maps) instead of a grid")
    add_truncation(p)


def run(args):
    app = StyleMixer(**predictor_args(args))
    layers = parse_styles(args.styles, app.n_latent)
    if args.blend:
        app.blend(args.blend[0], args.blend[1], layers, args.noise_mode)
    else:
        app.grid(parse_seeds(args.rows, "--rows"), parse_seeds(args.cols, "--cols"), layers, args.trunc,
                 args.trunc_cutoff, args.noise_mode)
    print(f"style layers {layers} of {app.n_latent}")
    print(f"output: {app.output_dir}")
    return 0
