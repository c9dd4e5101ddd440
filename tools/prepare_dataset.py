#!/usr/bin/env python
"""Turn a folder of images into square PNGs at a power-of-two size (or write the embedded demo set).

    python tools/prepare_dataset.py --src photos/ --dst data/faces256 --size 256
    python tools/prepare_dataset.py --demo --dst data/demo        # 100 LFW faces, 32x32 RGB, no download

Images of any size and mode (RGB, grayscale, RGBA, palette) are center-cropped to a square and resized
with a Lanczos filter; unreadable files are reported and skipped.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ppgan_stylegan.datasets import list_images, load_rgb  # noqa: E402

DEMO_SIZE = 32
DEMO_FACES = 100


def center_square(rgb, size):
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = Image.fromarray(rgb[top:top + side, left:left + side])
    return img.resize((size, size), Image.LANCZOS) if side != size else img


def write_png(img, path):
    tmp = path + ".tmp.png"
    img.save(tmp)
    os.replace(tmp, path)


def prepare_folder(src, dst, size):
    paths = list_images(src)
    if not paths:
        raise SystemExit(f"error: no images found under {src!r}")
    os.makedirs(dst, exist_ok=True)
    written, skipped = 0, []
    for i, path in enumerate(tqdm(paths, desc=f"resizing to {size}x{size}", unit="img")):
        try:
            rgb = load_rgb(path)
        except Exception as e:  # unreadable / corrupt file: report and go on
            skipped.append((path, str(e).splitlines()[0] if str(e) else type(e).__name__))
            continue
        write_png(center_square(rgb, size), os.path.join(dst, f"{i:06d}.png"))
        written += 1
    for path, why in skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(f"wrote {written} images of {size}x{size} to {dst} ({len(skipped)} skipped)")
    return written


def demo_faces():
    """The face images of scikit-image's bundled LFW subset (first 100 of 200), uint8 [100, 25, 25]."""
    from skimage.data import lfw_subset
    faces = lfw_subset()[:DEMO_FACES]
    return (np.clip(faces, 0, 1) * 255).round().astype(np.uint8)


def prepare_demo(dst, size=DEMO_SIZE):
    os.makedirs(dst, exist_ok=True)
    faces = demo_faces()
    for i, face in enumerate(tqdm(faces, desc="demo faces", unit="img")):
        rgb = np.repeat(face[:, :, None], 3, axis=2)
        write_png(Image.fromarray(rgb).resize((size, size), Image.LANCZOS), os.path.join(dst, f"face_{i:03d}.png"))
    print(f"wrote {len(faces)} demo faces ({size}x{size} RGB) to {dst}")
    return len(faces)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", help="folder of input images (searched recursively)")
    p.add_argument("--dst", required=True, help="output folder")
    p.add_argument("--size", type=int, default=None, help="output size, a power of two (default 256; demo 32)")
    p.add_argument("--demo", action="store_true", help="write the embedded demo dataset instead")
    args = p.parse_args(argv)
    size = args.size or (DEMO_SIZE if args.demo else 256)
    if size < 4 or size & (size - 1):
        p.error(f"--size must be a power of two >= 4, got {size}")
    if args.demo:
        prepare_demo(args.dst, size)
    else:
        if not args.src:
            p.error("--src is required (or use --demo)")
        if not os.path.isdir(args.src):
            p.error(f"--src {args.src!r} is not a folder")
        prepare_folder(args.src, args.dst, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
