"""Project an image into the generator: fit W or W+ (and the noise maps) to reproduce it.

    ppgan-stylegan project --weights output/demo-latest --target data/demo/face_003.png --steps 300 --progress 6
    ppgan-stylegan project --weights w.pdparams --target face.png --lpips-weights ~/.cache/paddle/hapi/weights
Writes <name>_projected.npz (W+ and the fitted noise maps: edit / mix / generate --latents read it and reproduce
<name>_projected.png exactly), <name>_projected.png and, with --progress N, <name>_projected_progress.png
(the target, then N snapshots); with --video, <name>_proj.mp4: the target beside every step's image.
"""
import os

from ..apps.project import Projector
from ..core import quick
from ..core.errors import UserError
from ..networks.perceptual import load_lpips
from ..core.checks import arg_float, arg_int, arg_seed
from .common import add_class, add_generator_args, add_video, predictor_args

HELP = "fit a W / W+ latent to an image (applications/project.py)"


def add_arguments(p):
    add_generator_args(p)
    add_class(p)
    p.add_argument("--target", required=True, help="image to project (any size; center-cropped and resized)")
    p.add_argument("--steps", type=arg_int(1), default=500, help="optimisation steps")
    p.add_argument("--space", choices=["w", "w+"], default="w+", help="fit one W for all layers, or W+")
    p.add_argument("--lr", type=arg_float(above=0), default=0.1, help="peak Adam learning rate")
    p.add_argument("--noise-reg", type=arg_float(0), default=1e5, help="weight of the noise autocorrelation penalty")
    p.add_argument("--fixed-noise", action="store_true", help="keep the generator's stored noise maps")
    p.add_argument("--progress", type=arg_int(0), default=0, metavar="N", help="write a strip with N snapshots")
    p.add_argument("--seed", type=arg_seed, default=0, help="seed of the noise maps' start and of the noise on w")
    p.add_argument("--lpips-weights", metavar="DIR",
                   help="add ppgan's LPIPS to the loss; DIR holds vgg16_official.pdparams and lins_0.1_vgg.pdparams")
    p.add_argument("--lpips-weight", type=arg_float(0), default=1.0, help="weight of the LPIPS term")
    add_video(p, "the optimisation, the target beside each step's image (<target name>_proj.mp4, as NVlabs' "
                 "proj.mp4)", fps=10)


def run(args):
    if args.steps < 1:
        raise UserError(f"--steps must be >= 1, got {args.steps}")
    lpips = load_lpips(args.lpips_weights) if args.lpips_weights else None
    app = Projector(**predictor_args(args))
    target = app.load_target(args.target)
    steps = quick.cap(args.steps, "steps")
    wplus, noise, image, losses, shots = app.project(target, steps, args.space, args.lr, args.noise_reg,
                                                     optimize_noise=not args.fixed_noise, seed=args.seed,
                                                     snapshots=args.progress, lpips=lpips,
                                                     lpips_weight=args.lpips_weight)
    stem = os.path.splitext(os.path.basename(args.target))[0]
    name = stem + "_projected"
    files = app.save(name, target, wplus, noise, image, shots)
    if args.video:
        files.append(app.video(f"{stem}_proj", target, noise, args.fps))
    print(f"MSE {losses[0]:.4f} -> {losses[-1]:.4f} after {steps} steps -> {', '.join(files)}")
    print(f"output: {app.output_dir}")
    return 0
