"""Convert StyleGAN2 weights from any release to a file our tools and the trainer (--load) read.

    ppgan-stylegan convert --src stylegan2-ffhq-config-f.pkl --dst ffhq.pdparams     # NVIDIA TensorFlow
    ppgan-stylegan convert --src network-snapshot-000400.pkl --dst afhq.pdparams     # stylegan2-ada-pytorch
    ppgan-stylegan convert --src 550000.pt --dst ffhq.pdparams                       # rosinality
    ppgan-stylegan convert --src paddlegan_stylegan2.pdparams --dst ffhq.pdparams    # PaddleGAN

Neither PyTorch nor TensorFlow is needed. Output: {'gen_ema', 'gen', 'disc'} (what the source has) with the
average of W in ``w_avg``, and ``meta`` describing the networks.
"""
import os

from ..apps.convert import convert_file
from ..core.errors import UserError
from ..core.runs import output_file

HELP = "import weights: NVIDIA .pkl (TF, ada-pytorch), rosinality .pt, PaddleGAN (tools/convert_weights.py)"


def add_arguments(p):
    p.add_argument("--src", required=True, help="NVIDIA .pkl (TensorFlow StyleGAN2, stylegan2-ada-pytorch), "
                   "rosinality .pt, PaddleGAN / ppgan .pdparams; the format is detected from the contents")
    p.add_argument("--dst", required=True, help="output .pdparams (must differ from --src)")
    p.add_argument("--overwrite", action="store_true", help="replace --dst when it exists")


def run(args):
    output_file(args.dst)
    same = os.path.exists(args.src) and os.path.realpath(args.src) == os.path.realpath(args.dst)
    if os.path.exists(args.dst) and not args.overwrite and not same:  # (the same file: convert_file says so)
        raise UserError(f"--dst {args.dst}: exists (choose another path, or --overwrite)")
    written, lines = convert_file(args.src, args.dst)
    for line in lines:
        print(line)
    print(f"wrote {', '.join(written)} to {args.dst}")
    return 0
