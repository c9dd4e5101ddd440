"""Edit a latent along one or several weighted directions (or one S-space channel): a strip over strengths.

    ppgan-stylegan edit --weights output/demo-latest --seed 3 --sefa 0                  # SeFa direction 0
    ppgan-stylegan edit --weights output/demo-latest --seed 3 --direction sefa:0=1 --direction sefa:2=-0.5
    ppgan-stylegan edit --weights output/demo-latest --latent face_projected.npz --direction smile.npy --layers 0-3
    ppgan-stylegan edit --weights w.pdparams --seed 3 --direction stylegan2-directions.pdparams:age
    ppgan-stylegan edit --weights w.pdparams --seed 3 --layer 4 --channel 17 --strength 10   # S space
Several --direction flags are added with their weights (SPEC=WEIGHT, default 1) into one direction d; the
strip shows w + a * d for a in -strength..strength. Writes edit.png, edit.npy (the strip's W+ latents) and
direction.npy (d, reusable with --direction); with --video the strip there and back as edit.mp4. A project .npz
latent brings its noise maps: strength 0 reproduces the projection.
"""
import os

import numpy as np

from ..apps import parse_styles
from ..apps.edit import LatentEditor
from ..core.errors import UserError
from ..core.checks import arg_float, arg_int, arg_seed
from .common import add_generator_args, add_truncation, add_video, predictor_args


HELP = "move a latent along weighted directions, SeFa or an S-space channel (applications/edit.py)"


def add_arguments(p):
    add_generator_args(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--seed", type=arg_seed, help="start from this seed's latent")
    src.add_argument("--latent", help="start from a saved latent (.npy W / W+, or a project .npz with noise maps)")
    p.add_argument("--direction", action="append", default=[], metavar="SPEC[=WEIGHT]",
                   help="repeatable: sefa:K, file.npy ([D] or [n_latent, D]) or a PaddleGAN directions "
                        "file.pdparams:NAME, each with an optional weight")
    p.add_argument("--sefa", type=arg_int(0), metavar="K", help="shorthand for --direction sefa:K")
    p.add_argument("--layer", type=arg_int(0), help="S-space edit: index of the modulated layer (with --channel)")
    p.add_argument("--channel", type=arg_int(0), help="S-space edit: the channel of --layer to shift")
    p.add_argument("--layers", default=None,
                   help="W+ layers to move (e.g. 0-3 or coarse; SeFa directions are computed from them); default all")
    p.add_argument("--strength", type=arg_float(), default=3.0, help="largest strength; the strip spans -s..s")
    p.add_argument("--steps", type=arg_int(1), default=7, help="images in the strip")
    add_video(p, "the strip, there and back (edit.mp4)", fps=8)
    add_truncation(p)


def weighted_specs(args):
    """[(spec, weight), ...] from --direction SPEC[=WEIGHT] (and --sefa K)."""
    out = [(f"sefa:{args.sefa}", 1.0)] if args.sefa is not None else []
    for item in args.direction:
        spec, weight = item, 1.0
        if "=" in item:
            spec, text = item.rsplit("=", 1)
            try:
                weight = float(text)
            except ValueError:
                raise UserError(f"--direction {item}: the weight after '=' must be a number, got {text!r}")
        out.append((spec, weight))
    return out


def run(args):
    specs = weighted_specs(args)
    if (args.layer is None) == (not specs):
        raise UserError("give --direction / --sefa, or --layer with --channel (not both)")
    if args.layer is not None and args.channel is None:
        raise UserError("--layer needs --channel")
    app = LatentEditor(**predictor_args(args))
    if args.latent:
        wplus, noise = app.load_latent(args.latent)
    else:
        wplus, noise = app.w_from_seeds([args.seed], args.trunc, args.trunc_cutoff), None
    noise = noise if noise is not None else args.noise_mode
    strengths = [float(v) for v in np.linspace(-args.strength, args.strength, max(2, args.steps))]
    layers = parse_styles(args.layers, app.n_latent) if args.layers else None
    if args.layer is not None:
        images, path = app.s_space_strip(wplus, args.layer, args.channel, strengths, noise)
    else:
        images, path = app.latent_strip(wplus, app.combine(specs, layers), strengths, layers, noise)
    if args.video:
        stem = os.path.splitext(os.path.basename(path))[0]
        print(f"video: {app.animation(images, stem, args.fps, there_and_back=True)}")
    print(f"strengths {strengths[0]:g}..{strengths[-1]:g}" +
          (f" along {' + '.join(f'{w:g} * {s}' for s, w in specs)}" if specs else ""))
    print(f"output: {app.output_dir}")
    return 0
