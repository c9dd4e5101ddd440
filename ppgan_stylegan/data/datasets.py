"""Image datasets for GAN training (ppgan DATASETS: ``StyleGANImageFolder``).

Yields ``{'A': uint8 [3, H, W], 'A_path': str}`` (plus ``'label'`` when the data has labels) like ppgan's
``SingleDataset`` but in uint8: the models scale it to [-1, 1] on the device (``core.images.reals_on_device``).
The images come from a folder, an NVlabs dataset zip or a rosinality LMDB (``data/sources.py``).

Channels (``channels``): ``auto`` (default) takes the data's own: 1 when every image is grayscale (8 or 16 bits),
4 when any has transparency, else 3 (every file of a folder is looked at; the first image of a zip or LMDB, as
NVlabs). 1, 3 or 4 convert every image to grayscale (luma), RGB or RGBA. The training command checks the result
against the networks' ``img_channels`` (``model_channels``).
"""
import itertools
import logging
import os
import signal
import threading
import zlib
from collections import Counter

import numpy as np
from paddle.io import Dataset
from PIL import Image
from ppgan.datasets.builder import DATASETS

from ..core.archives import image_bound
from ..core.checks import IMAGE_CHANNELS, check_choice
from ..core.errors import ConfigError
from ..core.images import array_of, channels_of, common_channels, image_shape, to_chw_uint8
from .sources import describe_labels, open_source, read_labels
from .tasks import RESIZE_FACTORS, TaskInputs

logger = logging.getLogger(__name__)
STUCK_ENV = "PPGAN_STYLEGAN_FAULT_STUCK_LOADER"  # tests: the N-th image read of a process never returns
_reads = itertools.count(1)


def _fault_stuck():
    """With ``PPGAN_STYLEGAN_FAULT_STUCK_LOADER=N``, the N-th image read of this process (and every later one)
    blocks for good: a stuck network file system, for the tests of stopping a run whose loader hangs."""
    at = os.environ.get(STUCK_ENV)
    if at and next(_reads) >= int(at):
        threading.Event().wait()


_OWNER_PID = os.getpid()


def _ignore_ctrl_c_in_workers():
    """A loader worker process ignores SIGINT (Ctrl-C reaches the whole process group): the main process decides
    when to stop and ends its workers, instead of Paddle reporting a killed worker in the middle of an iteration.
    SIGTERM keeps its default: ``multiprocessing`` ends workers with it at exit."""
    global _OWNER_PID
    if os.getpid() != _OWNER_PID and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _OWNER_PID = os.getpid()


def z_from_seed(seed, style_dim):
    """NVlabs' convention: z = RandomState(seed).randn(style_dim), float32."""
    return np.random.RandomState(seed).standard_normal(style_dim).astype("float32")


@DATASETS.register()
class StyleGANImageFolder(Dataset):
    """All images under ``dataroot``; ``hflip`` doubles the data with random horizontal flips.

    An unreadable or corrupt file is logged with its path, counted (``skipped``) and replaced by the
    next readable image, so a long run never stops on one bad file.

    Flips are a function of (seed, epoch, index) (``set_epoch``), not of a random generator's state at
    loading time, so a resumed run flips exactly as an uninterrupted one, with or without prefetching.
    """

    def __init__(self, dataroot, hflip=True, size=None, verify=True, labels="auto", channels="auto",
                 model_channels=None):
        super().__init__()
        self.dataroot, self.hflip = dataroot, hflip
        self.size = None if size is None else image_shape(size)  # (H, W)
        self.channels = check_choice("dataset.channels", channels, ("auto",) + tuple(IMAGE_CHANNELS))
        square = self.size and self.size[0] == self.size[1]
        self.source = open_source(dataroot, self.size[0] if square else None,  # (rosinality's LMDB: square)
                                  image_bound(self.size))
        self.paths = [self.source.where(name) for name in self.source.names]  # (where each image is, for logs)
        self.labels, self.class_names = read_labels(self.source, labels, dataroot)
        self.skipped, self.image_size, self.data_channels = set(), None, None
        self.epoch, self.flip_seed = 0, 0
        if verify:
            self.verify()
        if self.channels == "auto":  # (verify=False: RGB, as before channels were kept)
            self.channels = self.data_channels or 3
        if model_channels is not None:
            self.check_channels(*model_channels)
        shape = f"{self.image_size[0]}x{self.image_size[1]} " if self.image_size else ""
        shape += f"{IMAGE_CHANNELS[self.channels]}, "
        logger.info(f"dataset {dataroot} ({self.source.kind}): {len(self.paths)} images, {shape}"
                    f"{describe_labels(self.labels)}")

    def verify(self):
        """Read the headers before training (every file of a folder; of a zip or LMDB the first readable image, as
        NVlabs the first): unreadable files are skipped (logged with the reason); no readable image, or images of
        different sizes / not ``size``, is an error naming an offending file. Sets ``data_channels`` (see the
        module's doc)."""
        sizes, channels = {}, set()
        for name, path in zip(self.source.names, self.paths):
            try:
                with self.source.open_image(name) as img:
                    sizes[path] = img.size
                    channels.add(channels_of(img))
            except Exception as e:
                self.skipped.add(path)
                logger.warning(f"skipping unreadable image {path} ({type(e).__name__}: {str(e)[:160]})")
            if sizes and self.source.kind != "folder":
                break
        if not sizes:
            raise ConfigError(f"dataset.dataroot: none of the {len(self.paths)} images in {self.dataroot!r} is "
                              f"readable (e.g. {self.paths[0]}: {len(self.skipped)} skipped)")
        self.data_channels = common_channels(channels)
        counts = Counter(sizes.values())
        (w, h), _ = counts.most_common(1)[0]
        self.image_size = (w, h)
        if len(counts) > 1:
            odd = next(p for p, s in sizes.items() if s != (w, h))
            raise ConfigError(f"dataset.dataroot: images of mixed sizes in {self.dataroot!r}: "
                              f"{len(sizes) - counts[(w, h)]} of {len(sizes)} are not {w}x{h}, e.g. {odd} is "
                              f"{sizes[odd][0]}x{sizes[odd][1]} (run tools/prepare_dataset.py)")
        if self.size is not None and (h, w) != self.size:
            want_h, want_w = self.size
            raise ConfigError(f"dataset.dataroot: images in {self.dataroot!r} are {w}x{h}, the config needs "
                              f"{want_w}x{want_h} (width x height; run tools/prepare_dataset.py --size {want_h} {want_w})")
        if self.skipped:
            logger.warning(f"{len(self.skipped)} of {len(self.paths)} images unreadable and skipped")

    def check_channels(self, channels, where):
        """The images' channels (after ``dataset.channels``) must be what the networks take (``where`` names the
        config key holding ``channels``)."""
        if self.channels != channels:
            raise ConfigError(
                f"dataset.dataroot: {self.dataroot!r} has {IMAGE_CHANNELS[self.channels]} images ({self.channels} "
                f"channel(s)) but {where} is {channels}: set {where} (and the discriminator's) to {self.channels}, "
                f"or dataset.train.channels: {channels} to convert the images")

    def __len__(self):
        return len(self.paths)

    def set_epoch(self, epoch, seed=0):
        self.epoch, self.flip_seed = int(epoch), int(seed)

    def flipped(self, idx):
        """Whether item ``idx`` is mirrored in the current epoch (a fair coin per (seed, epoch, idx))."""
        return self.hflip and zlib.crc32(f"{self.flip_seed}:{self.epoch}:{idx}".encode()) % 2 == 1

    def _read(self, idx):
        """(path, uint8 ``[H, W, channels]`` array, index) of item ``idx`` or, if it is unreadable, of the next
        readable one."""
        for step in range(len(self.paths)):
            index = (idx + step) % len(self.paths)
            path = self.paths[index]
            if path in self.skipped:
                continue
            _ignore_ctrl_c_in_workers()
            _fault_stuck()
            try:
                with self.source.open_image(self.source.names[index]) as img:
                    self._check_size(img.size, path)  # (from the header: before decoding the pixels)
                    return path, array_of(img, self.channels), index
            except ConfigError:
                raise
            except Exception as e:  # corrupt / truncated / not an image / a zip bomb
                self.skipped.add(path)
                logger.warning(f"skipping unreadable image {path} ({type(e).__name__}: {str(e)[:200]}); "
                               f"{len(self.skipped)} skipped so far")
        raise RuntimeError(f"dataset.dataroot: none of the {len(self.paths)} images in {self.dataroot!r} is readable")

    def _check_size(self, size, path):
        """An image of another size than the config's (``size``: PIL's width, height) ends the run."""
        if self.size is not None and (size[1], size[0]) != self.size:
            raise ConfigError(f"{path}: image is {size[0]}x{size[1]}, the config needs "
                              f"{self.size[1]}x{self.size[0]} (width x height; run tools/prepare_dataset.py)")

    def __getitem__(self, idx):
        path, rgb, index = self._read(idx)
        if self.flipped(idx):
            rgb = rgb[:, ::-1]
        item = {"A": to_chw_uint8(rgb), "A_path": path}  # uint8: scaled on the device (core.images.reals_on_device)
        if self.labels is not None:
            item["label"] = self.labels[index]
        return item


@DATASETS.register()
class StyleGANLatentDataset(Dataset):
    """``num`` latent codes ``{'z': float32 [style_dim], 'seed': int}``; item i is z of seed ``first_seed + i``.

    For models that render their own targets with a generator (pSp trained on generator samples, where
    the true latent of every image is known). z follows NVlabs' ``RandomState(seed).randn(style_dim)``.
    """

    def __init__(self, num, style_dim, first_seed=0):
        super().__init__()
        if int(num) < 1 or int(style_dim) < 1:
            raise ConfigError(f"dataset: num and style_dim must be >= 1, got {num!r} / {style_dim!r}")
        self.num, self.style_dim, self.first_seed = int(num), int(style_dim), int(first_seed)

    def __len__(self):
        return self.num

    def __getitem__(self, idx):
        seed = self.first_seed + idx
        return {"z": z_from_seed(seed, self.style_dim), "seed": seed}


@DATASETS.register()
class PSPTaskDataset(StyleGANImageFolder):
    """Targets and encoder inputs of a pSp task (``data.tasks``): ``{'A': uint8 target [C, H, W], 'source': float32
    input [input_nc, S, S], 'A_path'}``.

    Inputs are made from the targets (``superres``, ``sketch2face`` with XDoG sketches, ``encode`` /
    ``frontalize``) or read from ``source_root``: a folder or zip of the task's inputs (sketches, class-index label
    maps, photos) with the targets' file names (extensions may differ). A target without its source, a source
    of another size than its target, a sketch with colour or a label value >= ``label_nc`` is a one-line error.
    Random choices (flips, super-resolution factors) are a function of (seed, epoch, index), as the flips.
    ``holdout: N`` with ``split: train`` leaves out the last N images (by name), ``split: test`` keeps only them.
    Super-resolution items from targets also carry ``'baseline'``: the low-resolution input bicubic-upsampled to the
    target's size (what validation compares the encoder with).
    """

    def __init__(self, dataroot, task="encode", input_size=256, source_root=None, label_nc=0,
                 resize_factors=RESIZE_FACTORS, sketch_sigma=None, hflip=False, holdout=0, split="all", **kwargs):
        super().__init__(dataroot, hflip=hflip, **kwargs)
        self.inputs = TaskInputs(task, input_size, label_nc, resize_factors, sketch_sigma)
        self.items = self._split(check_choice("dataset.split", split, ("all", "train", "test")), int(holdout))
        self.sources = None
        if source_root:
            self.sources = self._pair(open_source(source_root), source_root)
        elif not self.inputs.task.from_target:
            raise ConfigError(f"dataset.source_root: task {task} needs a paired folder of its inputs "
                              "(class-index label maps with the targets' file names)")

    def _pair(self, source, root):
        """{target index: source name} by file stem; a target without a source is an error naming both."""
        stems = {os.path.splitext(name)[0]: name for name in source.names}
        pairs = {}
        for index, name in enumerate(self.source.names):
            stem = os.path.splitext(name)[0]
            if stem not in stems:
                raise ConfigError(f"dataset.source_root: no input for {self.paths[index]} in {root!r} (expected "
                                  f"{stem}.<png|jpg|...>)")
            pairs[index] = stems[stem]
        return source, pairs

    def _split(self, split, holdout):
        n = len(self.paths)
        if split != "all" and not 0 < holdout < n:
            raise ConfigError(f"dataset.holdout: expected 1-{n - 1} images held out for split {split}, got {holdout}")
        return list(range(n - holdout)) if split == "train" else list(range(n - holdout, n)) \
            if split == "test" else list(range(n))

    def __len__(self):
        return len(self.items)

    def _rng(self, idx):
        return np.random.RandomState(zlib.crc32(f"{self.flip_seed}:{self.epoch}:{idx}:task".encode()))

    def __getitem__(self, idx):
        idx = self.items[idx]
        path, target, index = self._read(idx)
        rng, flip = self._rng(idx), self.flipped(idx)
        if flip:
            target = target[:, ::-1]
        baseline = None
        if self.sources is None:
            source, baseline = self.inputs.with_baseline(np.ascontiguousarray(target), rng)
        else:
            source = self._paired_input(index, target.shape[:2], rng, flip)
        item = {"A": to_chw_uint8(target), "source": source, "A_path": path}
        if baseline is not None:
            item["baseline"] = baseline
        return item

    def _paired_input(self, index, shape, rng, flip):
        src, pairs = self.sources
        where = src.where(pairs[index])
        with src.open_image(pairs[index]) as img:
            if (img.size[1], img.size[0]) != tuple(shape):
                raise ConfigError(f"{where}: input is {img.size[0]}x{img.size[1]}, its target "
                                  f"{self.paths[index]} is {shape[1]}x{shape[0]}")
            img.load()
            if flip:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
            return self.inputs.from_source(img, where, rng)
