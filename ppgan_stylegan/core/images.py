"""Images in one place: finding and reading files, center-crop + resize, [-1, 1] tensors <-> uint8, grids, PNGs.

Arrays for people are uint8 ``[H, W, C]``; arrays for networks are float32 ``[C, H, W]`` (or batches
``[N, C, H, W]``) in [-1, 1]. C is 1 (grayscale), 3 (RGB) or 4 (RGBA).
"""
import math
import os
import sys

import numpy as np
import paddle
import paddle.nn.functional as F
from PIL import Image

from .errors import UserError
from .extras import have_extra, require_extra
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


SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # (PIL's modes of 16-bit grayscale files)


def has_alpha(img):
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def channels_of(img):
    """How many channels an open PIL image has as the networks count them: 4 with transparency, 1 grayscale
    (8 or 16 bits), else 3."""
    if has_alpha(img):
        return 4
    return 1 if img.mode in ("1", "L", "F") + SIXTEEN_BIT_MODES else 3


def common_channels(counts):
    """The channels a set of images is kept in, from each image's ``channels_of``: 4 when any has transparency,
    3 when any has colour, else 1."""
    counts = set(counts)
    return 4 if 4 in counts else 3 if 3 in counts else 1


def _eight_bit(img):
    """16-bit grayscale scaled to 8 bits (x 255 / 65535, rounded): PIL's own conversion clips at 255."""
    if img.mode not in SIXTEEN_BIT_MODES:
        return img
    arr = np.asarray(img).astype(np.float64) * (255.0 / 65535.0)
    return Image.fromarray(np.clip(arr.round(), 0, 255).astype(np.uint8), "L")


def rgb_of(img):
    """An open PIL image as an RGB uint8 array ``[H, W, 3]`` (alpha composited on black)."""
    return array_of(img, 3)


def array_of(img, channels=3):
    """An open PIL image as a uint8 array ``[H, W, channels]``: 1 grayscale (colour images by PIL's luma),
    3 RGB, 4 RGBA (opaque when the file has no alpha). For 1 and 3, transparency is composited on black; 16-bit
    grayscale is scaled to 8 bits."""
    img.load()
    img = _eight_bit(img)
    if channels == 4:
        return np.asarray(img.convert("RGBA"))
    if has_alpha(img):
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (0, 0, 0, 255)), img)
    if channels == 1:
        return np.asarray(img.convert("L"))[..., None]
    return np.asarray(img.convert("RGB"))


def read_image(path, channels=3):
    """``load_rgb`` for a file the user named (``channels``: see ``array_of``): a missing or unreadable file is a
    one-line UserError."""
    try:
        with Image.open(path) as img:
            return array_of(img, channels)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file")
    except Exception as e:
        raise UserError(f"{path}: not a readable image ({type(e).__name__})")


# ---------------------------------------------------------------------------------------------- resizing
def image_shape(size):
    """``size`` as ``(H, W)``: an int is a square."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def fit_image(arr, size, fit="crop"):
    """uint8 ``[H, W, C]`` -> uint8 ``[h, w, C]`` of ``size`` (an int: square; or ``(h, w)``), Lanczos-resized after
    ``fit``: ``crop`` keeps the centred region of the target's aspect, ``pad`` puts the whole image in the middle of
    black (transparent for RGBA) bars of that aspect, as NVlabs' ``dataset_tool.py`` does for wide images."""
    h, w = image_shape(size)
    src_h, src_w = arr.shape[:2]
    if fit == "pad":  # the canvas of the target's aspect that just holds the image
        canvas_h, canvas_w = max(src_h, -(-src_w * h // w)), max(src_w, -(-src_h * w // h))
        canvas = np.zeros((canvas_h, canvas_w, arr.shape[2]), np.uint8)
        top, left = (canvas_h - src_h) // 2, (canvas_w - src_w) // 2
        canvas[top:top + src_h, left:left + src_w] = arr
        arr = canvas
    else:
        crop_h, crop_w = min(src_h, src_w * h // w), min(src_w, src_h * w // h)
        top, left = (src_h - crop_h) // 2, (src_w - crop_w) // 2
        arr = arr[top:top + crop_h, left:left + crop_w]
    if arr.shape[:2] == (h, w):
        return np.ascontiguousarray(arr)
    resized = np.asarray(pil_image(np.ascontiguousarray(arr)).resize((w, h), Image.LANCZOS))
    return resized.reshape(h, w, arr.shape[2])


def center_crop_resize(arr, size):
    """uint8 ``[H, W, C]`` -> uint8 ``[h, w, C]``: the centred region of ``size``'s aspect, Lanczos-resized to
    ``size`` (an int: square; or ``(h, w)``) if it differs."""
    return fit_image(arr, size, "crop")


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
    """uint8 ``[H, W, C]`` -> float32 ``[C, H, W]`` in [-1, 1]."""
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


METRIC_BACKGROUND = 1.0  # white, in [-1, 1]: what RGBA images are composited on for 3-channel feature networks


def three_channels(images, background=METRIC_BACKGROUND):
    """``[N, C, H, W]`` in [-1, 1] -> ``[N, 3, H, W]`` for networks that take RGB (Inception, VGG / LPIPS):
    grayscale replicated to 3 channels (as NVlabs' metrics do), RGBA composited over ``background`` (white),
    RGB as it is."""
    channels = images.shape[1]
    if channels == 3:
        return images
    if channels == 1:
        return images.tile([1, 3, 1, 1]) if isinstance(images, paddle.Tensor) else np.repeat(images, 3, axis=1)
    alpha = (images[:, 3:4] + 1) * 0.5
    return images[:, :3] * alpha + background * (1 - alpha)


def to_uint8(images):
    """``[N, C, H, W]`` (or ``[C, H, W]``) in [-1, 1], Tensor or array -> uint8 ``[N, H, W, C]``."""
    arr = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    arr = np.clip((arr.astype(np.float32) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)
    return arr.transpose(0, 2, 3, 1)


# ---------------------------------------------------------------------------------------------- output
def grid(images, nrow=None, pad=1, pad_value=0):
    """Images -> one uint8 ``[H', W', C]`` mosaic (``[H', W']`` for grayscale, as PIL takes it), ``nrow`` images per
    row (default: square). RGBA padding is transparent."""
    tiles = to_uint8(images)
    n, h, w, c = tiles.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / nrow))
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = tiles[i]
    return out[..., 0] if c == 1 else out


def pil_image(img):
    """A PIL image of a uint8 ``[H, W]`` or ``[H, W, 1 | 3 | 4]`` array (L, RGB, RGBA); a PIL image as it is."""
    if isinstance(img, Image.Image):
        return img
    img = np.asarray(img)
    return Image.fromarray(img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img)


def save_png(img, path):
    """Write a PIL image or a uint8 ``[H, W(, C)]`` array as PNG (L / RGB / RGBA), atomically. Returns ``path``."""
    img = pil_image(img)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_grid(images, path, nrow=None):
    return save_png(grid(images, nrow), path)


def save_gif(frames, path, seconds_per_frame=0.08):
    """Images -> an animated GIF that loops forever, written atomically. ``frames``: uint8 ``[H, W(, C)]`` arrays."""
    images = [pil_image(frame) for frame in frames]
    return atomic_write(path, lambda tmp: images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                                                         duration=int(seconds_per_frame * 1000), loop=0))


def _video_frame(frame, even_shape):
    """uint8 ``[H, W(, C)]`` -> RGB ``[H', W', 3]`` padded to ``even_shape`` (H.264's 4:2:0 needs even sides),
    made RGB by ``three_channels`` (grayscale replicated, RGBA over white)."""
    frame = np.asarray(frame)
    frame = frame[..., None] if frame.ndim == 2 else frame
    if frame.shape[2] != 3:
        frame = to_uint8(three_channels(to_tensor_range(frame)[None]))[0]
    out = np.zeros(tuple(even_shape) + (3,), np.uint8)
    out[:frame.shape[0], :frame.shape[1]] = frame
    return out


def save_video(frames, path, fps=24):
    """Frames (uint8 ``[H, W(, C)]`` arrays) -> an H.264 mp4 (yuv420p, which every player takes) through
    imageio-ffmpeg's own ffmpeg, written atomically. Odd sides get a black row / column."""
    imageio_ffmpeg = require_extra("imageio_ffmpeg", "mp4 videos", "video")
    frames = list(frames)
    height, width = frames[0].shape[:2]
    shape = (height + height % 2, width + width % 2)

    def write(tmp):
        writer = imageio_ffmpeg.write_frames(tmp, (shape[1], shape[0]), fps=fps, codec="libx264", quality=8,
                                             macro_block_size=2, output_params=["-f", "mp4"])
        writer.send(None)  # (the generator's start)
        for frame in frames:
            writer.send(np.ascontiguousarray(_video_frame(frame, shape)))
        writer.close()
    return atomic_write(path, write)


def save_animation(frames, stem, fps=24):
    """``<stem>.mp4`` (``save_video``), or ``<stem>.gif`` with a one-line note when the video extra is missing.
    Returns the path written."""
    if have_extra("imageio_ffmpeg"):
        return save_video(frames, stem + ".mp4", fps)
    print(f"imageio-ffmpeg is not installed: {stem}.gif instead of an mp4 (pip install -e .[video] for mp4)",
          file=sys.stderr)
    return save_gif(frames, stem + ".gif", 1.0 / fps)
