"""Datasets on disk: a folder of any images -> square PNGs at a power-of-two size, and the embedded demo set.

Images of any size and mode (RGB, grayscale, RGBA, palette) are center-cropped to a square and resized
with a Lanczos filter; unreadable files are reported and skipped. The demo set is the first 100 (face)
images of scikit-image's bundled LFW subset, 25x25 grayscale, written as 32x32 RGB: nothing is downloaded.
"""
import os
import sys

import numpy as np
from tqdm import tqdm

from ..core.checks import check_size
from ..core.errors import UserError
from ..core.images import center_crop_resize, list_images, load_rgb, save_png

DEMO_SIZE = 32
DEMO_FACES = 100


def prepare_folder(src, dst, size):
    """Every readable image under ``src`` -> ``dst/NNNNNN.png`` (``size`` x ``size`` RGB). Returns the count."""
    check_size(size, low=4, high=1 << 16, where="--size")
    if not os.path.isdir(src):
        raise UserError(f"--src {src!r} is not a folder")
    paths = list_images(src)
    if not paths:
        raise UserError(f"--src {src!r}: no images found")
    written, skipped = 0, []
    for i, path in enumerate(tqdm(paths, desc=f"resizing to {size}x{size}", unit="img")):
        try:
            rgb = load_rgb(path)
        except Exception as e:  # unreadable / corrupt file: report and go on
            skipped.append((path, str(e).splitlines()[0] if str(e) else type(e).__name__))
            continue
        save_png(center_crop_resize(rgb, size), os.path.join(dst, f"{i:06d}.png"))
        written += 1
    for path, why in skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    print(f"wrote {written} images of {size}x{size} to {dst} ({len(skipped)} skipped)")
    return written


def demo_faces():
    """The face images of scikit-image's bundled LFW subset (first 100 of 200), uint8 [100, 25, 25]."""
    from skimage.data import lfw_subset  # scikit-image is only needed for the demo set
    faces = lfw_subset()[:DEMO_FACES]
    return (np.clip(faces, 0, 1) * 255).round().astype(np.uint8)


def prepare_demo(dst, size=DEMO_SIZE):
    """Write the demo faces to ``dst/face_NNN.png`` (``size`` x ``size`` RGB). Returns the count."""
    check_size(size, low=4, high=1 << 16, where="--size")
    faces = demo_faces()
    for i, face in enumerate(tqdm(faces, desc="demo faces", unit="img")):
        rgb = np.repeat(face[:, :, None], 3, axis=2)
        save_png(center_crop_resize(rgb, size), os.path.join(dst, f"face_{i:03d}.png"))
    print(f"wrote {len(faces)} demo faces ({size}x{size} RGB) to {dst}")
    return len(faces)
