"""The pixel2style2pixel tasks as data: what the encoder is given for a target face, and how it is trained.

One ``Task`` row each (Richardson et al., "Encoding in Style", CVPR 2021; the official repository's
``configs/transforms_config.py``, ``datasets/augmentations.py`` and the training commands of its README):

* ``encode``: the photo itself (StyleGAN inversion); ``toonify`` is the same input against a blended generator.
* ``frontalize``: the photo, flipped at random independently of its target, with the crop-weighted losses.
* ``sketch2face``: a 1-channel line drawing in [0, 1] (no normalisation, as the official transform).
* ``seg2face``: a class-index map as ``label_nc`` one-hot channels (CelebAMask-HQ: 19).
* ``superres``: the photo downsampled by a factor drawn from ``resize_factors`` with the official bicubic kernel
  (reflect padding, 4 x factor taps), stored as 8 bits and resized back.

Resizing is PIL's bilinear (torchvision's ``Resize`` on PIL images), except for label maps: nearest, where the
official code blends class indices at region borders (our deliberate difference). Inputs are float32
``[C, S, S]`` at the encoder's ``input_size``; targets stay uint8 ``[H, W, C]``.
"""
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ..core.errors import UserError

RESIZE_FACTORS = (1, 2, 4, 8, 16, 32)  # the official super-resolution default
CROP_256 = (35, 223, 32, 220)  # the frontalization losses' face crop (rows, columns) at 256 px


def resized(arr, size, nearest=False):
    """uint8 ``[H, W]`` or ``[H, W, C]`` -> ``size`` x ``size`` with PIL's bilinear (or nearest) filter."""
    if arr.shape[:2] == (size, size):
        return arr
    squeeze = arr.ndim == 3 and arr.shape[2] == 1
    img = Image.fromarray(arr[..., 0] if squeeze else arr)
    out = np.asarray(img.resize((size, size), Image.NEAREST if nearest else Image.BILINEAR))
    return out[..., None] if squeeze else out


def normalised(arr):
    """uint8 ``[H, W, C]`` -> float32 ``[C, H, W]`` in [-1, 1] (ToTensor + Normalize(0.5, 0.5))."""
    return arr.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0


# ----------------------------------------------------------------------------------------------- super-resolution
def bicubic_taps(factor, a=-0.5):
    """The official ``BicubicDownSample`` kernel: 4 x factor taps of Keys' cubic at (i - 2 factor + 0.5) / factor."""
    x = np.abs((np.arange(4 * factor) - np.floor(2 * factor) + 0.5) / factor)
    k = np.where(x <= 1, (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1,
                 np.where(x < 2, a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a, 0.0))
    return (k / k.sum()).astype(np.float32)


def bicubic_downsample(img, factor):
    """float32 ``[H, W, C]`` in [0, 1] -> ``[H / factor, W / factor, C]``: reflect padding of 3 x factor (the smaller
    half first), the taps along rows then columns at stride ``factor``, clamped to [0, 1]."""
    taps, pad = bicubic_taps(factor), 3 * factor
    before, after = pad // 2, pad - pad // 2
    for axis in (0, 1):
        widths = [(0, 0)] * img.ndim
        widths[axis] = (before, after)
        padded = np.pad(img, widths, mode="reflect")
        windows = np.lib.stride_tricks.sliding_window_view(padded, len(taps), axis=axis)
        img = np.take(windows, np.arange(0, img.shape[axis], factor), axis=axis) @ taps
    return np.clip(img, 0.0, 1.0)


def low_resolution(arr, factor):
    """uint8 ``[S, S, C]`` -> the uint8 low-resolution image the official transform makes (``ToPILImage``'s
    ``mul(255).byte()`` truncates)."""
    small = bicubic_downsample(arr.astype(np.float32) / 255.0, factor)
    return (small * 255.0).astype(np.uint8)


def superres_pair(target, size, rng, factors=RESIZE_FACTORS):
    """(the encoder's input float32 ``[C, S, S]``, the uint8 low-resolution image) of a target photo."""
    small = low_resolution(resized(target, size), int(rng.choice(factors)))
    return normalised(resized(small, size)), small


def bicubic_upsampling(small, shape):
    """The super-resolution baseline: the low-resolution uint8 ``[h, w, C]`` image bicubic-upsampled to ``shape``
    ``(H, W)`` (PIL), float32 ``[C, H, W]`` in [-1, 1]."""
    return normalised(np.asarray(Image.fromarray(small).resize((shape[1], shape[0]), Image.BICUBIC)))


# ----------------------------------------------------------------------------------------------- sketches
def xdog_sketch(rgb, sigma=None, k=1.6, tau=0.98, phi=200.0):
    """A line drawing of a photo by XDoG (Winnemoeller et al., "XDoG: an eXtended difference-of-Gaussians", 2012):
    ``D = G_sigma - tau G_{k sigma}`` of the luma in [0, 1]; white where ``D >= 0``, ``1 + tanh(phi D)`` (dark
    lines on the dark side of edges) elsewhere. uint8 ``[H, W, 1]``. ``sigma`` defaults to one pixel per 512 px of
    the image's side (at least 0.5)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.shape[2] == 3 else rgb[..., 0]
    gray = gray.astype(np.float32) / 255.0
    sigma = sigma or max(0.5, rgb.shape[0] / 512.0)
    fine, coarse = (cv2.GaussianBlur(gray, (0, 0), s) for s in (sigma, k * sigma))
    d = fine - tau * coarse
    lines = np.where(d >= 0, 1.0, 1.0 + np.tanh(phi * d))
    return (np.clip(lines, 0, 1) * 255.0 + 0.5).astype(np.uint8)[..., None]


def sketch_input(sketch, size, rng=None):
    """uint8 ``[H, W, 1]`` line drawing -> float32 ``[1, S, S]`` in [0, 1] (ToTensor, no normalisation)."""
    return resized(sketch, size).astype(np.float32).transpose(2, 0, 1) / 255.0


def check_sketch(arr, where):
    """A sketch is one channel: an RGB file whose channels differ (colour) is a one-line error."""
    if arr.ndim == 3 and arr.shape[2] >= 3 and (np.any(arr[..., 0] != arr[..., 1]) or
                                                 np.any(arr[..., 1] != arr[..., 2])):
        raise UserError(f"{where}: a sketch with colour; sketches are grayscale line drawings (one channel)")
    return arr[..., :1] if arr.ndim == 3 else arr[..., None]


# ----------------------------------------------------------------------------------------------- label maps
def one_hot_labels(labels, size, label_nc, where="label map"):
    """uint8 / int ``[H, W]`` class indices -> float32 ``[label_nc, S, S]`` one-hot (nearest resize)."""
    labels = np.asarray(labels)
    if labels.ndim == 3:
        labels = labels[..., 0]
    top = int(labels.max())
    if top >= label_nc:
        y, x = np.argwhere(labels == top)[0]
        raise UserError(f"{where}: label value {top} at (x={x}, y={y}); expected classes 0-{label_nc - 1} "
                        f"(label_nc {label_nc})")
    small = resized(labels.astype(np.uint8), size, nearest=True)
    return (np.arange(label_nc)[:, None, None] == small[None]).astype(np.float32)


def read_label_map(img, where):
    """A class-index PNG (mode L, P or I) as ``[H, W]`` integers; an RGB image is not a label map."""
    if img.mode not in ("L", "P", "I", "I;16"):
        raise UserError(f"{where}: a label map must be a single-channel class-index image (PNG mode L or P), "
                        f"got mode {img.mode}")
    return np.asarray(img).astype(np.int64)


# ----------------------------------------------------------------------------------------------- pictures of inputs
def label_palette(n):
    """``n`` distinct RGB colours (uint8 ``[n, 3]``; class 0 black), fixed."""
    rng = np.random.RandomState(1234)
    colours = rng.randint(40, 256, [n, 3]).astype(np.uint8)
    colours[0] = 0
    return colours


def shown_input(inputs, task, shape):
    """Encoder inputs ``[N, C, S, S]`` as pictures ``[N, 3, H, W]`` in [-1, 1] (``shape``: ``(H, W)``) for grids:
    photos as they are, sketches in gray, label maps coloured by class."""
    task = task_named(task) if isinstance(task, str) else task
    h, w = shape
    out = []
    for x in inputs:
        if task.inputs == "labels":
            rgb, resample = label_palette(x.shape[0])[x.argmax(0)], Image.NEAREST
        else:
            scaled = x if task.inputs == "sketch" else (x + 1) / 2
            rgb, resample = np.clip(scaled * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0), Image.BILINEAR
            rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[..., :3]
        out.append(normalised(np.asarray(Image.fromarray(rgb).resize((w, h), resample))))
    return np.stack(out)


# ----------------------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Task:
    """One pSp task. ``inputs``: ``photo`` (the generator's channels), ``sketch`` (1) or ``labels`` (``label_nc``);
    ``from_target``: the input can be made from the target alone (no paired folder needed); ``losses``: the
    official training weights (README commands); ``official``: its ``dataset_type``."""
    name: str
    official: str
    inputs: str
    from_target: bool
    losses: dict = field(default_factory=dict)
    flip_source: bool = False  # the source flipped at random, independently of the target (frontalization)
    crop_losses: bool = False


TASKS = {t.name: t for t in (
    Task("encode", "ffhq_encode", "photo", True, dict(lpips=0.8, l2=1.0, id=0.1)),
    Task("frontalize", "ffhq_frontalize", "photo", True,
         dict(lpips=0.08, l2=0.001, lpips_crop=0.8, l2_crop=0.01, id=1.0, w_norm=0.005), flip_source=True,
         crop_losses=True),
    Task("sketch2face", "celebs_sketch_to_face", "sketch", True, dict(lpips=0.8, l2=1.0, w_norm=0.005)),
    Task("seg2face", "celebs_seg_to_face", "labels", False, dict(lpips=0.8, l2=1.0, w_norm=0.005)),
    Task("superres", "celebs_super_resolution", "photo", True, dict(lpips=0.8, l2=1.0, id=0.1, w_norm=0.005)),
    Task("toonify", "toonify", "photo", True, dict(lpips=0.8, l2=1.0, id=0.1)),
)}
TASK_OF_DATASET_TYPE = {t.official: t.name for t in TASKS.values()}


def task_named(name, where="--task"):
    if name not in TASKS:
        raise UserError(f"{where}: expected one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name]


def input_channels(task, image_channels=3, label_nc=0):
    """The encoder's ``input_nc`` for ``task``: 1 for sketches, ``label_nc`` for label maps, the images' own."""
    task = task_named(task) if isinstance(task, str) else task
    if task.inputs == "labels":
        if label_nc < 1:
            raise UserError(f"task {task.name}: give label_nc (the number of classes of the label maps)")
        return int(label_nc)
    return 1 if task.inputs == "sketch" else int(image_channels)


class TaskInputs:
    """Encoder inputs of one task from a target image (``from_target``) or a paired source image.

    ``size``: the encoder's input size; ``label_nc`` (seg2face), ``resize_factors`` (superres), ``sketch_sigma``
    (sketches made from photos). Randomness (flips, super-resolution factors) from ``rng``."""

    def __init__(self, task, size, label_nc=0, resize_factors=RESIZE_FACTORS, sketch_sigma=None):
        self.task, self.size, self.label_nc = task_named(task) if isinstance(task, str) else task, int(size), label_nc
        self.factors = tuple(int(f) for f in resize_factors)
        if self.task.name == "superres":
            if tuple(resize_factors) == RESIZE_FACTORS:  # the default: those that leave at least 2 x 2 pixels
                self.factors = tuple(f for f in RESIZE_FACTORS if size % f == 0 and f < size)
            bad = [f for f in self.factors if f < 1 or size % f or f >= size]
            if bad or not self.factors:
                raise UserError(f"resize_factors {list(self.factors)}: expected factors >= 1 that divide the "
                                f"encoder's input size {size} and leave at least 2 x 2 pixels")
        self.sketch_sigma = sketch_sigma
        input_channels(self.task, 3, label_nc)  # labels need label_nc

    def from_target(self, target, rng):
        """uint8 ``[H, W, C]`` target photo -> float32 input."""
        return self.with_baseline(target, rng)[0]

    def with_baseline(self, target, rng, shape=None):
        """(input, the task's own baseline image or None) from a target photo: for superres the low-resolution
        image bicubic-upsampled to ``shape`` (default: the target's); other tasks' baseline (``latent_avg``) is the
        model's."""
        if self.task.name == "superres":
            source, small = superres_pair(target, self.size, rng, self.factors)
            return source, bicubic_upsampling(small, shape or target.shape[:2])
        return self._input_of(target, rng), None

    def _input_of(self, target, rng):
        name = self.task.name
        if name == "seg2face":
            raise UserError("task seg2face: label maps cannot be made from photos; give a paired folder of "
                            "class-index maps (dataset source_root / encode --images of label maps)")
        if name == "sketch2face":
            return sketch_input(xdog_sketch(target, self.sketch_sigma), self.size)
        if self.task.flip_source and rng.rand() < 0.5:
            target = target[:, ::-1]
        return normalised(resized(np.ascontiguousarray(target), self.size))

    def from_source(self, img, where, rng=None):
        """A PIL image of the task's inputs (a sketch, a label map, a photo) -> float32 input; wrong kinds are
        one-line errors naming ``where``."""
        if self.task.inputs == "labels":
            return one_hot_labels(read_label_map(img, where), self.size, self.label_nc, where)
        if self.task.inputs == "sketch":
            return sketch_input(check_sketch(np.asarray(img.convert("RGB")), where), self.size)
        if img.mode in ("P", "I", "I;16") and self.task.inputs == "photo":
            raise UserError(f"{where}: a label map (mode {img.mode}) given to the photo task {self.task.name}")
        arr = np.asarray(img.convert("RGB"))
        if self.task.name == "superres" and max(arr.shape[:2]) >= self.size:  # a full-size photo: downsampled as
            return self.from_target(arr, rng or np.random.RandomState(0))  # the official inference does
        if self.task.flip_source and rng is not None and rng.rand() < 0.5:
            arr = arr[:, ::-1]
        return normalised(resized(np.ascontiguousarray(arr), self.size))  # (a small photo: the low-res input itself)
