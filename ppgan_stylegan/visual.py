"""Images for people: [-1, 1] tensors -> uint8 arrays, grids and PNG files."""
import math
import os

import numpy as np
from PIL import Image


def to_uint8(images):
    """``[N, C, H, W]`` (or ``[C, H, W]``) in [-1, 1], Tensor or array -> uint8 ``[N, H, W, 3]``."""
    arr = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    arr = np.clip((arr.astype(np.float32) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


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


def save_png(array, path):
    """Write a uint8 ``[H, W, 3]`` array atomically (temporary file + rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}.png"
    Image.fromarray(array).save(tmp)
    os.replace(tmp, path)
    return path


def save_grid(images, path, nrow=None):
    return save_png(grid(images, nrow), path)
