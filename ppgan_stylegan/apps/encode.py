"""Encoding images with a trained pSp encoder: W+ latents and reconstructions, for every pSp task.

The encoder's input is made from each file once, straight at the encoder's input size, as the official
transforms do (``data.tasks``: a photo, a sketch, a class-index label map, a low-resolution photo). Multi-modal
synthesis (the official ``style_mixing.py``): at the W+ entries of ``latent_mask`` each output takes the style of a
random z through the mapping (``mix_alpha``: ``a * injected + (1 - a) * code``; none: replaced).
"""
import json
import os
import zipfile

import numpy as np
import paddle
from PIL import Image
from tqdm import tqdm

from ..core.config import load_config
from ..core.errors import UserError
from ..core.images import fit_image, grid, list_images, read_image, save_png, to_tensor_range, to_uint8
from ..core.pickles import is_torch_legacy
from ..core.state import load_state
from ..data.tasks import RESIZE_FACTORS, TASKS, TaskInputs, bicubic_upsampling, shown_input, task_named
from ..losses.perceptual import IDLoss
from ..networks.encoders import require_square_rgb
from ..networks.loading import encoder_from_state, encoder_state
from ..networks.perceptual import load_lpips
from .align import LandmarkSource, align_face
from .base import GeneratorPredictor
from .convert import release_state


def _saved_model_config(state):
    return ((state.get("meta") or {}).get("config") or {}).get("model") or {}


class ImageEncoder(GeneratorPredictor):
    """pSp inference: a PSPModel checkpoint / weight file (encoder + the generator it inverts), a PaddleGAN
    ``Pixel2Style2Pixel`` file (``encoder.*``, ``decoder.*``, ``latent_avg``) or an official pSp ``.pt``.

    ``task`` (default: the file's own, else ``encode``), ``resize_factors`` (superres) and ``label_nc`` (seg2face;
    default: the file's) say what the input files are."""

    def __init__(self, weights, config=None, device=None, output_dir="output", task=None, resize_factors=None,
                 label_nc=None, **kwargs):
        self.task_options = (task, resize_factors, label_nc)
        super().__init__(weights, config, device, output_dir, prefer=("gen",), **kwargs)

    def read_weights(self, path):
        if os.path.isfile(path) and (zipfile.is_zipfile(path) or is_torch_legacy(path)):
            return release_state(path)  # an official pSp .pt (or another release convert reads)
        return load_state(path)

    def build_extra(self, state):
        require_square_rgb(self.generator, self.weights_path)
        enc_cfg = load_config(self.config).model.get("encoder") if self.config else None
        self.encoder = encoder_from_state(state, self.weights_path, enc_cfg)
        if (self.encoder.n_styles, self.encoder.style_dim) != (self.n_latent, self.style_dim):
            raise UserError(f"{self.weights_path}: encoder gives {self.encoder.n_styles} x {self.encoder.style_dim} "
                            f"codes, the generator takes {self.n_latent} x {self.style_dim}")
        self.saved_model = _saved_model_config(state)
        self.inputs = self.task_inputs(*self.task_options)

    def task_inputs(self, task=None, factors=None, label_nc=None):
        """``TaskInputs`` of ``task`` (default: the file's own, else ``encode``) for this encoder; a task whose
        inputs have other channels than the encoder takes is a one-line error."""
        saved = self.saved_model
        task = task_named(task or saved.get("task") or "encode")
        label_nc = label_nc or saved.get("label_nc") or (self.encoder.input_nc if task.inputs == "labels" else 0)
        inputs = TaskInputs(task, self.encoder.input_size, label_nc, factors or saved.get("resize_factors")
                            or RESIZE_FACTORS)
        wanted = 1 if task.inputs == "sketch" else label_nc if task.inputs == "labels" else self.generator.img_channels
        if wanted != self.encoder.input_nc:
            raise UserError(f"{self.weights_path}: the encoder takes {self.encoder.input_nc} input channel(s); task "
                            f"{task.name} gives {wanted} (--task, or --label-nc for label maps)")
        return inputs

    def fitting_tasks(self):
        """The tasks whose inputs this encoder takes (its own first)."""
        own = self.inputs.task.name
        fits = []
        for name in TASKS:
            try:
                self.task_inputs(name)
                fits.append(name)
            except UserError:
                pass
        return [own] + [n for n in fits if n != own]

    def check_state(self, state):
        encoder_state(state, self.weights_path)

    def encode(self, images):
        """``[N, C, S, S]`` encoder inputs (photos in [-1, 1] at any size are resized) -> W+ ``[N, n_latent, D]``."""
        with paddle.no_grad():
            if images.shape[2] != self.encoder.input_size:
                images = paddle.nn.functional.interpolate(images, size=[self.encoder.input_size] * 2,
                                                          mode="bilinear", align_corners=False)
            return self.encoder(images)

    def read_input(self, path, align=False, landmarks=None, seed=0, target_path=None, from_photos=False):
        """(encoder input ``[1, C, S, S]``, target photo ``[1, 3, H, W]`` at the generator's size or None, the task's
        baseline image or None) of one file, one resize from the file to each (the official transforms). Photo
        tasks' target is the photo; sketches' and label maps' is ``target_path`` when given. ``from_photos``: the
        file is a photo and the input is made from it as in training (sketches drawn by XDoG)."""
        rng = np.random.RandomState(seed)
        shape = self.generator.image_shape
        if self.inputs.task.inputs != "photo" and not from_photos:
            try:
                with Image.open(path) as img:
                    img.load()
                    source = self.inputs.from_source(img, path, rng)
            except (OSError, ValueError) as e:
                raise UserError(f"{path}: not a readable image ({type(e).__name__})")
            target = target_path and to_tensor_range(fit_image(read_image(target_path, 3), shape))[None]
            return paddle.to_tensor(source[None]), target if target is None else paddle.to_tensor(target), None
        rgb = read_image(path, 3)
        if align:
            rgb = align_face(rgb, landmarks(path, rgb), max(rgb.shape[:2]))
        square = fit_image(rgb, min(rgb.shape[:2]))  # the centred square, not resized
        baseline = None
        if self.inputs.task.name == "superres" and len(square) < self.inputs.size:  # the low-resolution photo itself
            source, baseline, target = self.inputs.from_source(Image.fromarray(square), path, rng), \
                bicubic_upsampling(square, shape), None
        elif self.inputs.task.name == "superres":
            source, baseline = self.inputs.with_baseline(square, rng, shape)
            target = to_tensor_range(fit_image(square, shape))
        else:
            source = self.inputs.from_target(square, rng) if from_photos else \
                self.inputs.from_source(Image.fromarray(square), path, rng)
            target = to_tensor_range(fit_image(square, shape))
        return tuple(None if x is None else paddle.to_tensor(x[None]) for x in (source, target, baseline))

    def mixed(self, codes, latent_mask, n_outputs, mix_alpha=None, seed=0):
        """``n_outputs`` codes per code: the entries of ``latent_mask`` moved to the styles of z of
        ``RandomState(seed)`` through the mapping (``[N, n_outputs, n_latent, D]``)."""
        bad = [i for i in latent_mask if not 0 <= i < self.n_latent]
        if bad:
            raise UserError(f"--latent-mask {bad[0]}: W+ entries of this generator are 0-{self.n_latent - 1}")
        z = np.random.RandomState(seed).standard_normal([n_outputs, self.style_dim]).astype("float32")
        with paddle.no_grad():
            injected = self.generator.get_latent(paddle.to_tensor(z))  # [n_outputs, D]
        mask = np.zeros([1, 1, self.n_latent, 1], np.float32)
        mask[..., latent_mask, :] = 1.0 if mix_alpha is None else float(mix_alpha)
        mask = paddle.to_tensor(mask)
        return codes.unsqueeze(1) * (1 - mask) + injected.unsqueeze(0).unsqueeze(2) * mask

    def encode_folder(self, folder, align=False, landmarks=None, batch=16, latent_mask=None, n_outputs=5,
                      mix_alpha=None, seed=0, targets=None, quality=None, from_photos=False):
        """Encode every image under ``folder``; writes ``<name>.npy``, ``<name>_recon.png``, with ``latent_mask``
        ``<name>_multimodal.png`` (input, then ``n_outputs`` outputs), a grid (inputs / outputs / targets) and
        ``encode_summary.json`` (the task, the count, and where there are targets the ``Quality`` of the outputs and
        of the task's baseline). ``targets``: a folder of photos named as the inputs (sketches, label maps);
        ``from_photos``: the images are photos, the inputs are made from them (``read_input``). Returns (that
        summary, files written)."""
        paths = list_images(folder) if os.path.isdir(folder) else [folder] if os.path.isfile(folder) else []
        if not paths:
            raise UserError(f"{folder}: no images (a folder of images or one image file)")
        source = (landmarks or LandmarkSource()) if align else None
        quality, rows = quality or Quality(), {"inputs": [], "outputs": [], "targets": []}
        for i in tqdm(range(0, len(paths), batch), desc="encoding", unit="batch", disable=len(paths) <= batch):
            chunk = paths[i:i + batch]
            read = [self.read_input(path, align, source, seed, _target_of(path, targets), from_photos)
                    for path in chunk]
            inputs = paddle.concat([r[0] for r in read])
            codes = self.encode(inputs)
            images = self.synthesize(codes)
            for j, (path, code, image) in enumerate(zip(chunk, codes.numpy(), images)):
                name = os.path.splitext(os.path.basename(path))[0]
                np.save(self.path(f"{name}.npy"), code)
                save_png(to_uint8(image)[0], self.path(f"{name}_recon.png"))
                if read[j][1] is not None:
                    quality.add(name, image[None], self._baseline(read[j][2]), read[j][1])
                    rows["targets"].append(read[j][1].numpy())
                if latent_mask:
                    self._multimodal(name, inputs[j:j + 1], codes[j:j + 1], latent_mask, n_outputs, mix_alpha, seed)
            rows["inputs"].append(shown_input(inputs.numpy(), self.inputs.task, self.generator.image_shape))
            rows["outputs"].append(images.numpy())
        return self._write_overview({k: np.concatenate(v) for k, v in rows.items() if v}, quality)

    def _baseline(self, image):
        """The task's baseline image: its own (superres: bicubic upsampling), else the ``latent_avg`` image."""
        if image is not None:
            return image
        avg = self.encoder.latent_avg.unsqueeze(0)
        return self.synthesize(avg if self.encoder.start_from_latent_avg else paddle.zeros_like(avg))

    def _multimodal(self, name, source, code, latent_mask, n_outputs, mix_alpha, seed):
        outputs = self.synthesize(self.mixed(code, latent_mask, n_outputs, mix_alpha, seed)[0])
        row = np.concatenate([shown_input(source.numpy(), self.inputs.task, self.generator.image_shape), outputs.numpy()])
        save_png(grid(row, nrow=len(row)), self.path(f"{name}_multimodal.png"))

    def _write_overview(self, rows, quality):
        n = min(len(rows["inputs"]), 16)
        pictures = [rows[k][:n] for k in ("inputs", "outputs", "targets") if k in rows and len(rows[k]) >= n]
        files = [save_png(grid(np.concatenate(pictures), nrow=n), self.path("encode_grid.png"))]
        report = {"task": self.inputs.task.name, "count": len(rows["inputs"]),
                  "baseline": "bicubic" if self.inputs.task.name == "superres" else "latent_avg"}
        report.update(quality.summary())
        with open(self.path("encode_summary.json"), "w") as f:
            json.dump(report, f, indent=1)
        return report, files + [self.path("encode_summary.json")]


def _target_of(path, targets):
    """The photo in ``targets`` with ``path``'s file stem (any image extension), or None; a folder without it is a
    one-line error."""
    if not targets:
        return None
    stem = os.path.splitext(os.path.basename(path))[0]
    found = [p for p in list_images(targets) if os.path.splitext(os.path.basename(p))[0] == stem]
    if not found:
        raise UserError(f"--targets {targets}: no photo named {stem}.* for {path}")
    return found[0]


class Quality:
    """Per image, the outputs' and the task's baseline's distance to the targets: MSE on [-1, 1], and LPIPS and the
    identity similarity (cosine of ArcFace IR-SE embeddings, pSp's ID measure) when their weights are given."""

    def __init__(self, lpips_dir=None, id_weights=None):
        self.lpips = load_lpips(lpips_dir) if lpips_dir else None
        self.id = IDLoss(id_weights) if id_weights else None
        self.rows = {}

    def add(self, name, image, baseline, target):
        row = {}
        with paddle.no_grad():
            for suffix, pred in (("", image), ("_baseline", baseline)):
                row["mse" + suffix] = float(((pred - target) ** 2).mean())
                if self.lpips is not None:
                    row["lpips" + suffix] = float(self.lpips(pred, target).mean())
                if self.id is not None:
                    row["id_similarity" + suffix] = 1.0 - float(self.id(pred, target))
        self.rows[name] = row

    def summary(self):
        """``mse`` per image, ``per_image`` rows and the ``mean_<measure>`` of every measure."""
        if not self.rows:
            return {"mse": {}}
        keys = next(iter(self.rows.values()))
        means = {f"mean_{k}": float(np.mean([r[k] for r in self.rows.values()])) for k in keys}
        return {"mse": {n: r["mse"] for n, r in self.rows.items()}, "per_image": self.rows, **means}
