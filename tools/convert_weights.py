#!/usr/bin/env python
"""Convert StyleGAN2 weights to a file our tools and ppgan's Trainer (--load) read.

    python tools/convert_weights.py --src stylegan2-ffhq-config-f.pt --dst ffhq.pdparams       # rosinality
    python tools/convert_weights.py --src paddlegan_stylegan2.pdparams --dst ffhq.pdparams      # PaddleGAN
Output: {'gen_ema': ..., 'gen': ..., 'disc': ..., 'latent_avg': ...} (what the source has), in Paddle
layouts. NVIDIA .pkl files are refused with the route to convert them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import paddle  # noqa: E402

from ppgan_stylegan.apps import build_generator, run_cli  # noqa: E402
from ppgan_stylegan.apps.base import UserError  # noqa: E402
from ppgan_stylegan.apps.convert import convert_checkpoint  # noqa: E402


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", required=True, help=".pt (rosinality), .pdparams (PaddleGAN / ppgan), .pkl is refused")
    p.add_argument("--dst", required=True, help="output .pdparams")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise UserError("--dst must differ from --src (the source is never overwritten)")
    result = convert_checkpoint(args.src)
    out = {k: ({n: paddle.to_tensor(v) for n, v in d.items()} if isinstance(d, dict) else paddle.to_tensor(d))
           for k, d in result.items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + ".tmp"
    paddle.save(out, tmp)
    os.replace(tmp, args.dst)
    if "gen_ema" in result or "gen" in result:
        gen, used = build_generator(args.dst)  # checks that the weights fit a generator
        print(f"{used}: {gen.size}px, style_dim {gen.style_dim}, n_mlp {len(gen.style) - 1}")
    print(f"wrote {', '.join(sorted(result))} to {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
