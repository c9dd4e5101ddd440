"""The web app (``ppgan-stylegan app``): generate, mix, edit, project and encode with one generator in a browser.

``Studio`` holds the generator (loaded once) and does every action with the predictors the command lines use
(``ImageGenerator``, ``StyleMixer``, ``LatentEditor``, ``Projector``, ``ImageEncoder``), so a page and a command
compute the same images; its methods take what the page's widgets hold and return file paths in the app's run
folder. ``build_page`` lays the Gradio page over it; ``serve`` starts it on 127.0.0.1 unless told otherwise.
Uploads are read by the project's own readers (``core.images.read_image``, ``np.load`` without pickles); the
server may hand out only the run folder's files and its own upload cache.
"""
import os

import numpy as np

from ..core.checks import check_int
from ..core.errors import UserError
from ..core.extras import require_extra
from ..core.images import read_image, save_grid, save_png, to_uint8
from ..core.ranges import parse_ranges
from .align import LandmarkSource, align_face
from .base import parse_seeds
from .edit import LatentEditor
from .encode import ImageEncoder
from .generate import ImageGenerator
from .mixing import STYLE_PRESETS, StyleMixer, parse_styles
from .project import Projector

SEFA_SLIDERS = 5  # SeFa components offered as sliders
NOISE_MODES = ["const", "random", "none"]
IMAGE_FILES = [".png", ".jpg", ".jpeg", ".bmp", ".webp"]
LATENT_FILES = [".npy", ".npz"]
LIVE_FRAMES = 20  # intermediate images a projection shows


class AppGenerator(ImageGenerator):
    needs_class = False  # the page chooses the class per action (``Studio.predictor``)


class Studio:
    """One generator (and, optionally, a pSp encoder) and the page's actions on it."""

    def __init__(self, weights, config=None, device=None, output_dir="output", psp=None, landmarks=None,
                 landmarks_model=None):
        """``landmarks`` (a JSON file, ``{image name: 68 points}``) or ``landmarks_model`` (dlib's predictor):
        uploads to Project are aligned FFHQ-style first, as ``encode`` aligns."""
        self.base = AppGenerator(weights, config, device, output_dir)
        self.encoder = ImageEncoder(psp, device=device, output_dir=self.base.output_dir) if psp else None
        self.landmarks = LandmarkSource(landmarks, landmarks_model) if landmarks or landmarks_model else None

    @property
    def output_dir(self):
        return self.base.output_dir

    @property
    def c_dim(self):
        return getattr(self.base.generator, "c_dim", 0)

    def predictor(self, cls, label=None):
        """A ``cls`` predictor on the loaded generator, with the class ``label`` (conditional generators)."""
        predictor = cls.sharing(self.base)
        predictor.needs_class = True
        predictor.label = predictor.check_label(check_int("class", label, 0) if self.c_dim else None, "global")
        return predictor

    # ------------------------------------------------------------------ actions
    def generate(self, seeds, psi=1.0, cutoff=0, noise_mode="const", label=0, single=False):
        """The ``generate`` command's images for ``seeds`` ('0-7,9'): (the grid or the first seed's PNG, [that
        PNG, each seed's W+ latent ``seedNNNN.npy``])."""
        app = self.predictor(ImageGenerator, label)
        seeds = parse_seeds(seeds, "seeds")[:1] if single else parse_seeds(seeds, "seeds")
        cutoff = check_int("truncation cutoff", cutoff, 0) or None
        _, files = app.generate(seeds, float(psi), cutoff, noise_mode, as_grid=not single)
        return files[0], [files[0]] + [app.path(f"seed{s:04d}.npy") for s in seeds]

    def mix(self, rows, cols, styles="coarse", psi=1.0, noise_mode="const", label=0):
        """The ``mix`` command's grid: row seeds with the column seeds' ``styles`` (a preset or '0-3,6')."""
        app = self.predictor(StyleMixer, label)
        layers = parse_styles(styles, app.n_latent)
        return app.grid(parse_seeds(rows, "rows"), parse_seeds(cols, "columns"), layers, float(psi), None,
                        noise_mode)["file"]

    def start(self, app, seed, latent_file, psi):
        """(W+ ``[1, n_latent, D]``, noise maps or None) of an uploaded / projected latent, else of ``seed``."""
        if latent_file:
            return app.load_latent(latent_file)
        return app.w_from_seeds([check_int("start seed", seed, 0)], float(psi)), None

    def edit(self, seed=0, latent_file=None, sefa=(), direction_file=None, direction_weight=0.0, s_edit=(0, 0, 0.0),
             strip=False, steps=7, psi=1.0, noise_mode="const", label=0):
        """Edits at once: SeFa components weighted by ``sefa``, a direction file times ``direction_weight``, and an
        S-space channel ``s_edit = (layer, channel, amount)``; the edited image (strength 1) or a strip over
        strengths -1..1. Returns (PNG, the image(s)' W+ latents ``edit.npy``)."""
        app = self.predictor(LatentEditor, label)
        wplus, noise = self.start(app, seed, latent_file, psi)
        direction = np.zeros([app.n_latent, app.style_dim], "float32")
        weighted = [(f"sefa:{k}", float(w)) for k, w in enumerate(sefa) if w]
        if weighted:
            direction += app.combine(weighted)
        if direction_file and direction_weight:
            direction += float(direction_weight) * app.direction_from_file(direction_file)
        layer, channel, amount = (check_int("S layer", s_edit[0], 0), check_int("S channel", s_edit[1], 0),
                                  float(s_edit[2]))
        strengths = np.linspace(-1, 1, max(2, int(steps))).tolist() if strip else [1.0]
        images = app.edited(wplus, direction, strengths, (layer, channel, amount) if amount else None,
                            noise if noise is not None else noise_mode)
        np.save(app.path("edit.npy"), np.concatenate([wplus.numpy() + a * direction[None] for a in strengths]))
        png = (save_grid(images, app.path("edit.png"), nrow=len(strengths)) if strip
               else save_png(to_uint8(images)[0], app.path("edit.png")))
        return png, app.path("edit.npy")

    def target(self, app, image_file):
        """An uploaded image as the generator's target ``[1, C, H, W]`` (aligned first with a landmarks model)."""
        if not image_file:
            raise UserError("upload an image first")
        if self.landmarks is None:
            return app.load_target(image_file)
        rgb = read_image(image_file)
        return app.load_image(image_file, align_face(rgb, self.landmarks(image_file, rgb), max(rgb.shape[:2])))

    def projection(self, image_file, steps=100, label=0):
        """The ``project`` command step by step: yields (step, steps, that step's uint8 image); returns
        (the projected PNG, its ``.npz``: W+ and noise maps, what ``generate --latents`` reproduces)."""
        app = self.predictor(Projector, label)
        target = self.target(app, image_file)
        run = app.projection(target, int(steps))
        while True:
            try:
                step, image = next(run)
            except StopIteration as done:
                wplus, noise, image, _, _ = done.value
                break
            yield step + 1, int(steps), to_uint8(image.numpy())[0]
        stem = os.path.splitext(os.path.basename(image_file))[0] + "_projected"
        npz, png = app.save(stem, target, wplus, noise, image)
        return png, npz

    def encode(self, image_file, task=None, latent_mask="", n_outputs=5):
        """pSp inversion of an uploaded image in one pass, by the ``encode`` command's own code (its files:
        ``<name>_recon.png``, ``<name>.npy``, with ``latent_mask`` ``<name>_multimodal.png``): (reconstruction PNG,
        W+ ``.npy``, the multi-modal grid or None). ``task``: what the upload is (a photo, a sketch, a label map, a
        low-resolution photo; default: the encoder's own task)."""
        if self.encoder is None:
            raise UserError("no pSp checkpoint was given (ppgan-stylegan app --psp FILE)")
        if not image_file:
            raise UserError("upload an image first")
        self.encoder.inputs = self.encoder.task_inputs(task or None)
        mask = parse_ranges(latent_mask, "latent mask") if latent_mask and str(latent_mask).strip() else None
        n_outputs = check_int("outputs", n_outputs, 1)
        self.encoder.encode_folder(image_file, latent_mask=mask, n_outputs=n_outputs)
        stem = os.path.splitext(os.path.basename(image_file))[0]
        grid_file = self.encoder.path(f"{stem}_multimodal.png") if mask else None
        return self.encoder.path(f"{stem}_recon.png"), self.encoder.path(f"{stem}.npy"), grid_file

    def card(self):
        """The model card (Markdown): shape, spaces, classes, training, where the weights came from."""
        gen, facts = self.base.generator, self.base.facts
        height, width = gen.image_shape
        rows = [("weights", f"`{self.base.weights_path}` ({self.base.source})"),
                ("network", type(gen).__name__), ("image", f"{width} x {height}, {gen.img_channels} channel(s)"),
                ("style dim (z, w)", gen.style_dim), ("W+ layers", gen.n_latent),
                ("classes", self.c_dim or "unconditional"),
                ("training iterations", facts.get("iteration", "not recorded")),
                ("training images seen", facts.get("images_seen", "not recorded")),
                ("saved", facts.get("saved_at", "not recorded")),
                ("pSp encoder", self.encoder.weights_path if self.encoder else "none (--psp)")]
        return "| | |\n|---|---|\n" + "\n".join(f"| {key} | {value} |" for key, value in rows)


def style_choices():
    return list(STYLE_PRESETS) + ["custom"]


def gradio():
    """Gradio (the ``app`` extra), with its usage analytics off; one line saying how to install it when missing."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    return require_extra("gradio", "the web app", "app")
