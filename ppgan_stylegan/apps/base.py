"""The one predictor base every application uses: load a generator, pick a device, seeds, outputs.

Weight files are read by ``core.state`` and ``networks.loading`` (checkpoints, weight files, PaddleGAN
files); the generator's shape comes from a config or from the shapes found in the weights.
"""
import os

import numpy as np
import paddle

from ..core.device import use_device
from ..core.checks import SEED_MAX, check_finite
from ..core.errors import UserError
from ..core.images import center_crop_resize, read_image, save_animation, to_tensor_range, to_uint8
from ..core.ranges import parse_ranges
from ..core.runs import writable_folder
from ..core.state import load_state
from ..data.datasets import z_from_seed
from ..networks.loading import load_generator


def parse_seeds(text, option="--seeds"):
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]; seeds are 0 .. 2^32 - 1 (NumPy's RandomState)."""
    seeds = parse_ranges(text, option)
    big = [s for s in seeds if s > SEED_MAX]
    if big:
        raise UserError(f"{option} {big[0]}: seeds are 0..{SEED_MAX}")
    return seeds


def weights_facts(state):
    """What a weight file says of its training (our trainer's ``meta``): iteration, images seen, when saved."""
    meta = state.get("meta") if isinstance(state.get("meta"), dict) else {}
    return {key: meta[key] for key in ("iteration", "images_seen", "saved_at") if key in meta}


CENTRES = ("global", "class")  # what truncation moves towards: the tracked w_avg, or the chosen class's mean W


class GeneratorPredictor:
    """Base of all applications: a generator plus device, output folder and latent helpers."""

    def __init__(self, weights, config=None, device=None, output_dir="output", prefer=("gen_ema", "gen"), label=None,
                 trunc_centre="global"):
        """``output_dir``: the folder outputs go to, or a callable that creates and returns it (called once the
        weights have loaded, so that a bad weight file leaves no empty folder behind). ``label``: the class of a
        class-conditional generator (required by one); ``trunc_centre``: ``global`` (the tracked ``w_avg``, NVlabs)
        or ``class`` (that class's own average W)."""
        use_device(device)
        self.weights_path, self.config = weights, config
        state = self.read_weights(weights)  # read once; not kept (a training checkpoint also holds D, optimizers)
        self.check_state(state)
        self.generator, self.source = load_generator(weights, config, prefer, state=state)
        self.facts = weights_facts(state)
        self.label, self.trunc_centre, self._class_centre = self.check_label(label, trunc_centre), trunc_centre, None
        self.build_extra(state)
        if callable(output_dir):  # made only now that the weights loaded (command lines: a new run folder)
            output_dir = output_dir()
        self.output_dir = writable_folder(output_dir)

    @classmethod
    def sharing(cls, other):
        """A predictor of this class on ``other``'s loaded generator, output folder and class (nothing read again:
        the web app's tabs share one generator)."""
        predictor = cls.__new__(cls)
        predictor.__dict__.update(other.__dict__)
        return predictor

    needs_class = True  # a conditional generator needs --class (an application that chooses classes itself: False)

    def check_label(self, label, centre):
        """The class to generate: required by a conditional generator, refused by an unconditional one."""
        c_dim = getattr(self.generator, "c_dim", 0)
        if centre not in CENTRES:
            raise UserError(f"--trunc-centre: expected one of {', '.join(CENTRES)}, got {centre!r}")
        if c_dim and label is None and self.needs_class:
            raise UserError(f"{self.weights_path}: a class-conditional generator (classes 0-{c_dim - 1}): "
                            "give --class K")
        if not c_dim and (label is not None or centre == "class"):
            raise UserError(f"{self.weights_path}: an unconditional generator: --class and --trunc-centre class need "
                            "a class-conditional one")
        if centre == "class" and label is None:
            raise UserError("--trunc-centre class: give the class (--class K)")
        if label is not None and not 0 <= label < c_dim:
            raise UserError(f"--class {label}: this generator has classes 0-{c_dim - 1}")
        return label

    def c(self, n):
        """Labels ``[n, c_dim]`` of the chosen class (None for an unconditional generator)."""
        return None if self.label is None else self.generator.one_hot([self.label] * n)

    def truncation_centre(self, samples=10000, seed=0):
        """``[1, D]`` W truncation moves towards: None (the generator's tracked ``w_avg``) or, with
        ``trunc_centre='class'``, the mean W of ``samples`` fixed-seed z of the chosen class (cached)."""
        if self.trunc_centre != "class":
            return None
        if self._class_centre is None:
            z = np.random.RandomState(seed).standard_normal([samples, self.style_dim]).astype("float32")
            with paddle.no_grad():
                self._class_centre = self.generator.get_latent(paddle.to_tensor(z), self.c(samples)).mean(
                    0, keepdim=True)
        return self._class_centre

    def read_weights(self, path):
        """Hook: the weight file as a dict (``core.state.load_state``; the encoder also reads official pSp files)."""
        return load_state(path)

    def check_state(self, state):
        """Hook: subclasses reject a weight file that lacks what they need, before anything is built."""

    def build_extra(self, state):
        """Hook: subclasses build more networks from the same weight file (e.g. the pSp encoder)."""

    @property
    def n_latent(self):
        return self.generator.n_latent

    @property
    def style_dim(self):
        return self.generator.style_dim

    def path(self, name):
        return os.path.join(self.output_dir, name)

    def z_from_seeds(self, seeds):
        """z ``[len(seeds), D]`` by NVlabs' seed convention."""
        return paddle.to_tensor(np.stack([z_from_seed(s, self.style_dim) for s in seeds]))

    def w_from_seeds(self, seeds, psi=1.0, cutoff=None, classes=None):
        """W+ ``[len(seeds), n_latent, D]`` for seeds, of the chosen class (conditional; or each seed's of
        ``classes``), truncated towards the tracked ``w_avg`` or the class's own average (``truncation_centre``)."""
        c = self.c(len(seeds)) if classes is None else self.generator.one_hot(classes)
        with paddle.no_grad():
            w = self.generator.get_latent(self.z_from_seeds(seeds), c)
            wplus = w.unsqueeze(1).tile([1, self.n_latent, 1])
            return self.generator.truncate(wplus, psi, cutoff, self.truncation_centre() if psi < 1 else None)

    def synthesize(self, wplus, noise_mode="const", batch=16):
        """Images ``[N, 3, H, W]`` in [-1, 1] from W+ latents, in batches; ``noise_mode`` is a mode or a list of
        noise maps of batch 1 (shared by all images)."""
        outs = []
        with paddle.no_grad():
            for i in range(0, wplus.shape[0], batch):
                img, _ = self.generator([wplus[i:i + batch]], input_is_latent=True, noise=noise_mode)
                outs.append(img)
        return paddle.concat(outs)

    def animation(self, images, name, fps=24, there_and_back=False):
        """Images ``[N, C, H, W]`` in [-1, 1] as ``<name>.mp4`` in the output folder (a GIF without the video
        extra); ``there_and_back``: the frames, then back again (a strip that loops smoothly). Returns the path."""
        frames = list(to_uint8(images))
        if there_and_back:
            frames += frames[-2:0:-1]
        return save_animation(frames, self.path(name), fps)

    def load_image(self, path, rgb=None):
        """An image file (or its uint8 ``[H, W, C]`` array) -> ``[1, C, H, W]`` in [-1, 1] with the generator's
        channels and shape: converted (``core.images.array_of``), center-cropped to its aspect, Lanczos-resized."""
        channels = self.generator.img_channels
        arr = read_image(path, channels) if rgb is None else rgb
        if arr.shape[2] != channels:
            raise UserError(f"{path}: the image has {arr.shape[2]} channel(s), the generator makes {channels}")
        img = center_crop_resize(arr, self.generator.image_shape)
        return paddle.to_tensor(to_tensor_range(img)[None])

    def load_latent(self, path):
        """A saved latent -> (W+ ``[1, n_latent, D]``, its noise maps or None).

        ``.npy``: W ``[D]`` / ``[1, D]`` or W+ ``[n_latent, D]`` (generate, encode). ``.npz``: ``w_plus`` and,
        when the latent came with fitted noise maps (project), ``noise_0`` ... (``save_latent``)."""
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        noise = None
        try:
            data = np.load(path)
            if isinstance(data, np.lib.npyio.NpzFile):
                if "w_plus" not in data.files:
                    raise UserError(f"{path}: no 'w_plus' array in this .npz (a latent saved by project)")
                keys = sorted((k for k in data.files if k.startswith("noise_")), key=lambda k: int(k[6:]))
                noise = [data[k].astype("float32") for k in keys] or None
                data = data["w_plus"]
            arr = np.asarray(data, dtype="float32")
        except UserError:
            raise
        except Exception as e:
            raise UserError(f"{path}: not a .npy / .npz latent ({type(e).__name__})")
        arr = arr.reshape([-1, arr.shape[-1]]) if arr.ndim else arr
        if arr.ndim != 2 or arr.shape[-1] != self.style_dim or arr.shape[0] not in (1, self.n_latent):
            raise UserError(f"{path}: latent of shape {list(arr.shape)}, expected [{self.style_dim}] or "
                            f"[{self.n_latent}, {self.style_dim}] for this generator")
        check_finite(path, arr)
        if arr.shape[0] == 1:
            arr = np.repeat(arr, self.n_latent, axis=0)
        if noise is not None:
            check_finite(f"{path} (noise maps)", np.concatenate([n.ravel() for n in noise]))
            expected = [list(s) for s in self.generator.noise_shapes(1)]
            if [list(n.shape) for n in noise] != expected:
                raise UserError(f"{path}: noise maps of shapes {[list(n.shape) for n in noise]}, expected "
                                f"{expected} for this generator")
            noise = [paddle.to_tensor(n) for n in noise]
        return paddle.to_tensor(arr[None]), noise

    def save_latent(self, path, wplus, noise=None):
        """W+ ``[1, n_latent, D]`` (and noise maps) -> ``.npz`` that ``load_latent`` reads back exactly."""
        arrays = {"w_plus": np.asarray(wplus.numpy() if hasattr(wplus, "numpy") else wplus)[0]}
        for i, n in enumerate(noise or []):
            arrays[f"noise_{i}"] = n.numpy() if hasattr(n, "numpy") else np.asarray(n)
        np.savez(path, **arrays)
        return path
