"""Generate images from seeds (a grid, or one PNG per seed, plus each seed's W+ latent), or from saved latents.

    ppgan-stylegan generate --weights output/demo-latest --seeds 0-15
    ppgan-stylegan generate --weights output/demo-latest --seeds 0-7 --trunc 0.7 --trunc-cutoff 8 --per-seed
    ppgan-stylegan generate --weights output/demo-latest --latents output/project-latest/face_003_projected.npz
    ppgan-stylegan generate --weights output/demo-latest --seeds 0-5 --video --frames 30   # walk.mp4
"""
from ..apps import ImageGenerator, parse_seeds
from ..core.checks import arg_int
from .common import add_generator_args, add_truncation, add_video, predictor_args

HELP = "images (and W+ latents) from seeds or saved latents (applications/generate.py)"


def add_arguments(p):
    add_generator_args(p)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--seeds", default="0-15", help="seeds, e.g. 0-15,42 (z = RandomState(seed).randn, NVlabs')")
    src.add_argument("--latents", nargs="+", metavar="FILE",
                     help="saved latents (.npy W / W+, or a project .npz with its noise maps) instead of seeds")
    add_truncation(p)
    p.add_argument("--per-seed", action="store_true", help="one PNG per seed (or latent file) instead of a grid")
    p.add_argument("--no-latents", action="store_true", help="do not save the seeds' W+ latents (seedNNNN.npy)")
    add_video(p, "a walk through the seeds' W (walk.mp4)", fps=24)
    p.add_argument("--frames", type=arg_int(1), default=24, help="--video: frames from each seed to the next")


def run(args):
    app = ImageGenerator(**predictor_args(args))
    if args.latents:
        images, _ = app.render_latents(args.latents, args.noise_mode, as_grid=not args.per_seed)
    else:
        seeds = parse_seeds(args.seeds)
        images, _ = app.generate(seeds, args.trunc, args.trunc_cutoff, args.noise_mode, as_grid=not args.per_seed,
                                 save_latents=not args.no_latents)
        if args.video:
            frames, files = app.video(seeds, args.frames, args.fps, args.trunc, args.trunc_cutoff, args.noise_mode)
            print(f"walk: {len(frames)} frames at {args.fps} fps -> {files[0]}")
    print(f"generated {len(images)} image(s) from {app.source}")
    print(f"output: {app.output_dir}")
    return 0
