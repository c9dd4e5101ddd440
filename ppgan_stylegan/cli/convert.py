"""Convert StyleGAN2 weights to a file our tools and the trainer (--load) read.

    ppgan-stylegan convert --src stylegan2-ffhq-config-f.pt --dst ffhq.pdparams       # rosinality
    ppgan-stylegan convert --src paddlegan_stylegan2.pdparams --dst ffhq.pdparams      # PaddleGAN
Output: {'gen_ema': ..., 'gen': ..., 'disc': ..., 'latent_avg': ...} (what the source has), in Paddle
layouts. NVIDIA .pkl files are refused with the route to convert them.
"""
from ..apps.convert import convert_file

HELP = "import weights: rosinality .pt, PaddleGAN .pdparams (tools/convert_weights.py)"


def add_arguments(p):
    p.add_argument("--src", required=True, help=".pt (rosinality), .pdparams (PaddleGAN / ppgan), .pkl is refused")
    p.add_argument("--dst", required=True, help="output .pdparams")


def run(args):
    written, summary = convert_file(args.src, args.dst)
    if summary:
        print(summary)
    print(f"wrote {', '.join(written)} to {args.dst}")
    return 0
