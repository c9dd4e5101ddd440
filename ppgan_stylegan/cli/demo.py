"""The embedded demo: train StyleGAN2 on 100 LFW faces (32x32, bundled with scikit-image) on the CPU.

    ppgan-stylegan demo                 # what `make demo` runs (or: python tools/demo.py)
    ppgan-stylegan demo --iters 200     # shorter

Prepares data/demo if missing, measures SWD of gen_ema against the real faces before and after
training, and writes sample grids (PNG), a loss / SWD plot (PNG) and summary.json.
"""
import os

from ..apps.demo import run_demo

HELP = "the embedded demo: train on 100 faces on the CPU (tools/demo.py)"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def add_arguments(p):
    p.add_argument("--config", default=os.path.join(REPO, "configs", "stylegan_v2_demo.yaml"))
    p.add_argument("--iters", type=int, default=None, help="training iterations (default: the config's)")
    p.add_argument("--data", default=os.path.join(REPO, "data", "demo"))
    p.add_argument("--out", default=os.path.join(REPO, "output", "demo"))
    p.add_argument("--seed", type=int, default=0)


def run(args):
    run_demo(args.config, args.data, args.out, args.iters, args.seed)
    return 0
