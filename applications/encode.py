#!/usr/bin/env python
"""Encode images with a trained pSp encoder: W+ latents (.npy), reconstructions (PNG), a grid, MSE summary.

    python applications/encode.py --weights output_dir/psp_demo-<time>/iter_1500_weight.pdparams --images data/demo --no-align
    python applications/encode.py --weights psp_ffhq.pdparams --images photos/ --landmarks-model shape_predictor_68_face_landmarks.dat

The latents feed the other tools (edit.py --latent, style_mixing.py --blend). Without --no-align, each
image is aligned FFHQ-style from 68 landmarks (a JSON file, or dlib's shape predictor).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppgan_stylegan.apps import run_cli  # noqa: E402
from ppgan_stylegan.apps.align import LandmarkSource  # noqa: E402
from ppgan_stylegan.apps.cli import common, parser  # noqa: E402
from ppgan_stylegan.apps.encode import ImageEncoder  # noqa: E402


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--images", required=True, help="an image file or a folder of images")
    p.add_argument("--no-align", action="store_true", help="images are already aligned crops: center crop + resize")
    p.add_argument("--landmarks", help="JSON {image file name: [[x, y] x 68]} for alignment")
    p.add_argument("--landmarks-model", help="dlib's shape_predictor_68_face_landmarks.dat (needs dlib)")
    args = p.parse_args(argv)
    landmarks = None if args.no_align else LandmarkSource(args.landmarks, args.landmarks_model)
    app = ImageEncoder(**common(args))
    summary, files = app.encode_folder(args.images, align=not args.no_align, landmarks=landmarks)
    mean = sum(summary.values()) / len(summary)
    print(f"encoded {len(summary)} image(s); mean reconstruction MSE {mean:.4f} -> {files[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
