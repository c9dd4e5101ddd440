#!/usr/bin/env python
"""Quality metrics of a generator against a folder of real images: FID, KID, PPL, SWD (JSON + one line each).

    python tools/metrics.py --weights output/demo/<run>/iter_1600_weight.pdparams --real data/demo --metrics swd,ppl
    python tools/metrics.py --weights w.pdparams --real data/ffhq256 --metrics fid,kid --num 50000 \\
        --inception-weights InceptionV3.pdparams --cache data/ffhq256_inception.npz

FID / KID use ppgan's InceptionV3 with --inception-weights (nothing is downloaded); --cache keeps the real
set's features (recomputed when the images, the weights or the layer change). PPL uses LPIPS with
--lpips-weights, else the pixel MSE (an offline stand-in, not comparable to published PPL).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ppgan_stylegan.apps import GeneratorPredictor, parse_seeds, run_cli  # noqa: E402
from ppgan_stylegan.apps.base import UserError  # noqa: E402
from ppgan_stylegan.apps.cli import parser  # noqa: E402
from ppgan_stylegan.datasets import list_images  # noqa: E402
from ppgan_stylegan.metrics import fid_from_features, kid_from_features, perceptual_path_length, swd  # noqa: E402
from ppgan_stylegan.metrics.inception import cached_real_features, inception_features, load_inception  # noqa: E402

KNOWN = ("fid", "kid", "ppl", "swd")


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--real", help="folder of real images (FID, KID, SWD)")
    p.add_argument("--metrics", default="fid,kid", help=f"comma-separated: {', '.join(KNOWN)}")
    p.add_argument("--num", type=int, default=10000, help="generated images (and at most this many reals)")
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi of the generated images")
    p.add_argument("--inception-weights", help="ppgan's InceptionV3.pdparams (FID / KID)")
    p.add_argument("--dims", type=int, default=2048, help="Inception feature layer: 64, 192, 768 or 2048")
    p.add_argument("--input-size", type=int, default=299, help="Inception input resolution")
    p.add_argument("--cache", help=".npz for the real set's Inception features")
    p.add_argument("--lpips-weights", help="LPIPS folder for PPL (else pixel MSE)")
    p.add_argument("--ppl-num", type=int, default=1000)
    args = p.parse_args(argv)
    wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in KNOWN]
    if unknown:
        raise UserError(f"--metrics: unknown {unknown} (expected {', '.join(KNOWN)})")
    if {"fid", "kid", "swd"} & set(wanted) and not args.real:
        raise UserError("--real: a folder of real images is needed for fid / kid / swd")
    model = load_inception(args.inception_weights, args.dims, "--inception-weights") \
        if {"fid", "kid"} & set(wanted) else None
    app = GeneratorPredictor(args.weights, args.config, args.device, args.outdir)
    reals = list_images(args.real)[:args.num] if args.real else []
    if args.real and not reals:
        raise UserError(f"--real {args.real}: no images")
    results = {}
    if {"fid", "kid", "swd"} & set(wanted):
        fake = np.concatenate([app.synthesize(app.w_from_seeds(seeds, args.trunc)).numpy()
                               for seeds in tqdm([parse_seeds(f"{i}-{min(i + 63, args.num - 1)}")
                                                  for i in range(0, args.num, 64)], desc="generating", unit="batch")])
        if model is not None:
            real_f = cached_real_features(reals, model, args.inception_weights, args.dims, args.input_size,
                                          args.cache, load=lambda path: app.load_image(path)[0].numpy())
            fake_f = inception_features(model, fake, args.input_size)
            if "fid" in wanted:
                results["fid"] = fid_from_features(real_f, fake_f)
            if "kid" in wanted:
                results["kid_x1e3"] = kid_from_features(real_f, fake_f) * 1e3
        if "swd" in wanted:
            real = np.stack([app.load_image(path)[0].numpy() for path in reals])
            results["swd_x1e3"] = swd(real, fake[:len(real)])["mean"]
    if "ppl" in wanted:
        distance = None
        if args.lpips_weights:
            from ppgan_stylegan.perceptual import load_lpips
            lpips = load_lpips(args.lpips_weights)
            distance = lambda a, b: lpips(a, b).reshape([-1])  # noqa: E731
        results["ppl_w_end" + ("" if distance else "_pixel")] = perceptual_path_length(
            app.generator, args.ppl_num, distance=distance)
    with open(app.path("metrics.json"), "w") as f:
        json.dump(results, f, indent=1)
    for name, value in results.items():
        print(f"{name}: {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
