"""Images in one place: finding and reading files, center-crop + resize, [-1, 1] tensors <-> uint8, grids, PNGs.

Arrays for people are uint8 ``[H, W, 3]``; arrays for networks are float32 ``[3, H, W]`` (or batches
``[N, C, H, W]``) in [-1, 1].
"""
import math
import os

import numpy as np
import paddle
import paddle.nn.functional as F
from PIL import Image

from .errors import UserError
from .files import atomic_write

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm")


# ---------------------------------------------------------------------------------------------- files
def list_images(root):
    """Sorted image paths under ``root`` (recursive)."""
    paths = []
    for dirpath, _, files in os.walk(root):
        paths += [os.path.join(dirpath, f) for f in files if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(paths)


def load_rgb(path):
    """Any PIL-readable image file as an RGB uint8 array ``[H, W, 3]`` (alpha composited on black)."""
    with Image.open(path) as img:
        return rgb_of(img)


def rgb_of(img):
    """An open PIL image as an RGB uint8 array ``[H, W, 3]`` (alpha composited on black)."""
    img.load()
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"))


def read_rgb(path):
    """``load_rgb`` for a file the user named: a missing or unreadable file is a one-line UserError."""
    try:
        return load_rgb(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file")
    except Exception as e:
        raise UserError(f"{path}: not a readable image ({type(e).__name__})")


# ---------------------------------------------------------------------------------------------- resizing
def center_crop_resize(rgb, size):
    """uint8 ``[H, W, 3]`` -> PIL image: the centred square, Lanczos-resized to ``size`` (if it differs)."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = Image.fromarray(np.ascontiguousarray(rgb[top:top + side, left:left + side]))
    return img.resize((size, size), Image.LANCZOS) if side != size else img


def resize_batch(images, size):
    """Square tensor resize ``[N, C, S, S]`` -> ``[N, C, size, size]``: area average when shrinking by an
    integer factor, else bilinear."""
    if size is None or images.shape[2] == size:
        return images
    if images.shape[2] > size and images.shape[2] % size == 0:
        return F.adaptive_avg_pool2d(images, size)
    return F.interpolate(images, size=[size, size], mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------------------- value ranges
def to_tensor_range(rgb):
    """uint8 ``[H, W, 3]`` -> float32 ``[3, H, W]`` in [-1, 1]."""
    return (rgb.astype("float32").transpose(2, 0, 1) / 127.5) - 1.0


def to_chw_uint8(rgb):
    """uint8 ``[H, W, C]`` -> contiguous uint8 ``[C, H, W]``: what the training datasets hand the loader (a quarter
    of float32's bytes through the workers' shared memory); ``reals_on_device`` scales it on the device."""
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))


def reals_on_device(images):
    """A loader batch as float32 in [-1, 1] on the device: uint8 ``[N, C, H, W]`` is cast and scaled there (the same
    float32 numbers as ``to_tensor_range``); float input (already scaled) passes through."""
    images = images if isinstance(images, paddle.Tensor) else paddle.to_tensor(images)
    if images.dtype == paddle.uint8:  # (a true division: Paddle 2.6 turns ``/ 127.5`` into ``* (1 / 127.5)``,
        return images.astype("float32") / paddle.full([], 127.5, "float32") - 1.0  # 1 ulp off numpy's numbers)
    return images


def to_uint8(images):
    """``[N, C, H, W]`` (or ``[C, H, W]``) in [-1, 1], Tensor or array -> uint8 ``[N, H, W, 3]``."""
    arr = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    arr = np.clip((arr.astype(np.float32) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


# ---------------------------------------------------------------------------------------------- output
def grid(images, nrow=None, pad=1, pad_value=0):
    """Images -> one uint8 ``[H', W', 3]`` mosaic, ``nrow`` images per row (default: square)."""
    tiles = to_uint8(images)
    n, h, w, c = tiles.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / nrow))
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = tiles[i]
    return out


def save_png(img, path):
    """Write a PIL image or a uint8 ``[H, W, 3]`` array as PNG, atomically. Returns ``path``."""
    img = img if isinstance(img, Image.Image) else Image.fromarray(img)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_grid(images, path, nrow=None):
    return save_png(grid(images, nrow), path)


def save_gif(frames, path, seconds_per_frame=0.08):
    """Images -> an animated GIF that loops forever, written atomically. ``frames``: uint8 ``[H, W, 3]`` arrays."""
    images = [Image.fromarray(frame) for frame in frames]
    return atomic_write(path, lambda tmp: images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                                                         duration=int(seconds_per_frame * 1000), loop=0))
