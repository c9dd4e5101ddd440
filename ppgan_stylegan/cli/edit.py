"""Edit a latent along a direction and write a strip over a range of strengths.

    ppgan-stylegan edit --weights w.pdparams --seed 3 --sefa 0            # SeFa direction 0
    ppgan-stylegan edit --weights w.pdparams --latent seed0003.npy --direction smile.npy
    ppgan-stylegan edit --weights w.pdparams --seed 3 --direction dirs.pdparams --name age
    ppgan-stylegan edit --weights w.pdparams --seed 3 --layer 4 --channel 17 --strength 10   # S space
"""
import numpy as np

from ..apps import parse_styles
from ..apps.edit import LatentEditor
from ..core.errors import UserError
from .common import add_generator_args, add_truncation, predictor_args

HELP = "move a latent along a direction, SeFa or S-space channel (applications/edit.py)"


def add_arguments(p):
    add_generator_args(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--seed", type=int, help="start from this seed's latent")
    src.add_argument("--latent", help="start from a saved latent (.npy, W or W+)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sefa", type=int, metavar="K", help="use the K-th closed-form (SeFa) direction")
    how.add_argument("--direction", help=".npy direction, or a PaddleGAN directions .pdparams (with --name)")
    how.add_argument("--layer", type=int, help="S-space edit: index of the modulated layer (with --channel)")
    p.add_argument("--name", help="direction name inside a directions .pdparams")
    p.add_argument("--channel", type=int, help="S-space channel")
    p.add_argument("--layers", default=None, help="W+ layers to move (e.g. 0-3, coarse); default all")
    p.add_argument("--strength", type=float, default=3.0, help="largest strength; the strip spans -s..s")
    p.add_argument("--steps", type=int, default=7, help="images in the strip")
    add_truncation(p)


def run(args):
    app = LatentEditor(**predictor_args(args))
    wplus = app.load_latent(args.latent) if args.latent else app.w_from_seeds([args.seed], args.trunc,
                                                                              args.trunc_cutoff)
    strengths = [float(v) for v in np.linspace(-args.strength, args.strength, max(2, args.steps))]
    layers = parse_styles(args.layers, app.n_latent) if args.layers else None
    if args.layer is not None:
        if args.channel is None:
            raise UserError("--layer needs --channel")
        _, path = app.s_space_strip(wplus, args.layer, args.channel, strengths, args.noise_mode)
    elif args.sefa is not None:
        directions, _ = app.sefa_directions(layers)
        if not 0 <= args.sefa < len(directions):
            raise UserError(f"--sefa {args.sefa}: directions 0-{len(directions) - 1} exist")
        _, path = app.latent_strip(wplus, directions[args.sefa][None], strengths, layers, args.noise_mode)
    else:
        _, path = app.latent_strip(wplus, app.direction_from_file(args.direction, args.name), strengths, layers,
                                   args.noise_mode)
    print(f"strengths {strengths[0]:g}..{strengths[-1]:g} -> {path}")
    return 0
