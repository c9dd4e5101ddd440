"""The embedded demo: train StyleGAN2 on 100 LFW faces (32x32, bundled with scikit-image) on the CPU.

    ppgan-stylegan demo                 # what `make demo` runs (or: python tools/demo.py)
    ppgan-stylegan demo --iters 200     # shorter
    ppgan-stylegan demo --config configs/stylegan_v1_demo.yaml     # StyleGAN (v1), growing 8 -> 32 px
    ppgan-stylegan demo --config configs/psp_superres_demo.yaml    # pSp x4 / x8 against output/demo-latest

Prepares data/demo if missing, measures SWD of gen_ema against the real faces before and after training,
and writes sample grids (PNG), a loss / SWD plot (PNG), latent walks (PNG, GIF), summary.json and the
checkpoint into output/demo-<date-time> (output/demo-latest links to the newest). A pSp demo config trains its
encoder against the demo generator and scores the faces it held out against the task's baseline (summary.json,
grids) in output/<config name>-<date-time>.
"""
import os

from ..apps.demo import run_demo
from ..core.checks import arg_int, arg_seed
from .common import add_output_args

HELP = "the embedded demo: train on 100 faces on the CPU (tools/demo.py)"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def add_arguments(p):
    p.add_argument("--config", default=os.path.join(REPO, "configs", "stylegan_v2_demo.yaml"),
                   help="training config")
    p.add_argument("--iters", type=arg_int(1), default=None, help="training iterations (default: the config's)")
    p.add_argument("--data", default=os.path.join("data", "demo"),
                   help="the demo faces (written there when missing)")
    p.add_argument("--seed", type=arg_seed, default=0, help="seed of the run")
    p.add_argument("--generator", help="pSp demos: the generator to invert (default: <outdir>/demo-latest)")
    add_output_args(p)


def run(args):
    run_demo(args.config, args.data, args.outdir, args.iters, args.seed, args.name, args.overwrite, args.generator)
    return 0
