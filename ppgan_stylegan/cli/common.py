"""Arguments the tools share: weights, config, device, the output run folder, truncation and noise."""
import argparse
import os

from ..apps.base import CENTRES
from ..core.checks import arg_float, arg_int
from ..core.runs import new_run_folder, point_latest, resolve_weights

OUTPUT_ROOT = "output"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and each flag's default after its help (when it has one to show)."""

    def _get_help_string(self, action):
        text = action.help or ""
        hidden = action.default is None or action.default is False or action.default in ([], argparse.SUPPRESS)
        if "%(default)" in text or hidden or not action.option_strings:  # (``is``: a default of 0 is shown)
            return text
        return f"{text} (default: %(default)s)"


def add_generator_args(p, weights_help="checkpoint / weight file or run folder (its newest weights; gen_ema is "
                                       "used when present), or a PaddleGAN generator .pdparams", outputs=True):
    p.add_argument("--weights", required=True, help=weights_help)
    p.add_argument("--config", help="YAML whose model.generator describes the network (default: read from the "
                                    "weights)")
    p.add_argument("--device", help="cpu or gpu (default: gpu when Paddle has CUDA)")
    if outputs:
        add_output_args(p)


def add_output_args(p):
    p.add_argument("--outdir", default=OUTPUT_ROOT,
                   help="root of the run folders: each run writes into <outdir>/<command>-<date-time> (or "
                        "<outdir>/<name>); <outdir>/<command>-latest links to the newest")
    p.add_argument("--name", help="run folder name instead of <command>-<date-time>")
    p.add_argument("--overwrite", action="store_true", help="allow writing into an existing, non-empty --name folder")


def run_folder(args):
    """Create this invocation's run folder (``args.command`` names it); ``<outdir>/<command>-latest`` is pointed at
    it when the command succeeds (``finish_run``), so inputs read from the previous run stay where they were."""
    args.run_folder = new_run_folder(args.outdir, args.command, args.name, args.overwrite, link=False)
    return args.run_folder


def finish_run(args):
    """After a successful command: ``<outdir>/<command>-latest`` -> its run folder (if it made one)."""
    if getattr(args, "run_folder", None):
        point_latest(args.outdir, args.command, args.run_folder)


def discard_empty_run(args):
    """After a failed command: remove its run folder if nothing was written into it."""
    folder = getattr(args, "run_folder", None)
    if folder and os.path.isdir(folder) and not os.listdir(folder):
        os.rmdir(folder)


def add_truncation(p):
    p.add_argument("--trunc", type=arg_float(), default=1.0, help="truncation psi (1 = none), towards the tracked w_avg")
    p.add_argument("--trunc-cutoff", type=arg_int(1), default=None, help="truncate only W+ layers < k (default: all)")
    add_noise_mode(p)
    add_class(p)
    p.add_argument("--trunc-centre", choices=CENTRES, default="global",
                   help="truncate towards the global w_avg (NVlabs) or the class's own average W")


def add_class(p):
    p.add_argument("--class", dest="label", type=arg_int(0), default=None, metavar="K",
                   help="the class to generate (class-conditional generators: required)")


def add_video(p, what, fps):
    """``--video`` (an H.264 mp4 of ``what``; a GIF without the video extra) and ``--fps``."""
    p.add_argument("--video", action="store_true",
                   help=f"also write {what} as an mp4 (H.264; pip install -e .[video], else a GIF)")
    p.add_argument("--fps", type=arg_int(1), default=fps, help="frames per second of --video")


def add_noise_mode(p):
    p.add_argument("--noise-mode", choices=["random", "const", "none"], default="const",
                   help="per-layer noise (a latent file's own noise maps are used when it has them)")


def predictor_args(args):
    """Keyword arguments of a GeneratorPredictor from the shared flags (the run folder is created once the
    weights have loaded)."""
    return dict(weights=resolve_weights(args.weights), config=args.config, device=args.device,
                output_dir=lambda: run_folder(args), label=getattr(args, "label", None),
                trunc_centre=getattr(args, "trunc_centre", "global"))
