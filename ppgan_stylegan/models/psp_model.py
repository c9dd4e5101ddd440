"""PSPModel: trains a pSp encoder (``PSPEncoder``) against a frozen StyleGAN2 generator in ppgan's Trainer.

Loss (pSp, Richardson et al. 2021, eq. 4, plus a latent term when the true latent is known):

    l2_weight * MSE(G(E(x)), x) + lpips.weight * LPIPS(G(E(x)), x) + id_loss.weight * ID(G(E(x)), x)
      + w_norm_weight * mean_n ||E(x)_n - latent_avg||_2 + latent_weight * MSE(E(x), w_true)
      + l2_crop_weight * MSE and lpips_crop_weight * LPIPS on the face crop (frontalization)

``task`` (``data.tasks``: encode, frontalize, sketch2face, seg2face, superres, toonify) says what the encoder is
given: the dataset's ``source`` (``PSPTaskDataset``: a sketch, a label map, a low-resolution photo) or, without
one, the target itself; the encoder's ``input_nc`` follows the task.

Targets are dataset images (``{'A': ...}``, e.g. StyleGANImageFolder) or, with StyleGANLatentDataset
(``{'z': ...}``), images the generator renders from z: then the true W+ is known and the model reports
the latent error too. ``latent_avg`` is the generator's tracked average w. The generator is in
``nets['gen']`` (saved with every checkpoint, never updated), so one file holds everything ``encode`` needs.
"""
import logging

import paddle
import paddle.nn.functional as F
from ppgan.models.base_model import BaseModel
from ppgan.models.builder import MODELS
from ppgan.models.generators.builder import build_generator as build_registered

from ..core.checks import check_choice, check_number
from ..core.distributed import average_statistics
from ..core.errors import ConfigError
from ..core.images import grid, reals_on_device, resize_batch
from ..core.nets import freeze
from ..core.runs import resolve_weights
from ..core.state import load_state
from ..data.tasks import CROP_256, input_channels, task_named
from ..losses.perceptual import IDLoss
from ..metrics.encoder import KINDS
from ..networks import StyleGAN2Generator
from ..networks.encoders import require_square_rgb
from ..networks.loading import generator_from_state, generator_state
from ..networks.perceptual import load_lpips
from .guard import NonFiniteGuard

logger = logging.getLogger(__name__)


def frozen_generator(generator=None, weights=None):
    """The generator to invert: from a weight file (shape from ``generator`` or the weights), else random."""
    if weights:
        weights = resolve_weights(weights, "model.generator_weights")  # a run folder: its newest weights
        gstate, used = generator_state(load_state(weights), weights)
        gen = generator_from_state(gstate, generator, weights)
        logger.info(f"generator: {used} weights from {weights}")
    elif generator:
        cfg = dict(generator)
        cfg.pop("name", None)
        gen = StyleGAN2Generator(**cfg)
        logger.warning("generator: no generator_weights given; inverting a randomly initialised generator")
    else:
        raise ConfigError("model: give generator_weights (a checkpoint or generator .pdparams) and/or generator")
    return freeze(gen)


def face_crop(images):
    """The frontalization losses' crop (rows 35:223, columns 32:220 at 256 px), scaled to the images' size."""
    size = images.shape[2]
    top, bottom, left, right = (round(v * size / 256) for v in CROP_256)
    return images[:, :, top:bottom, left:right]


@MODELS.register()
class PSPModel(NonFiniteGuard, BaseModel):
    def __init__(self, encoder, generator=None, generator_weights=None, l2_weight=1.0, w_norm_weight=0.0,
                 latent_weight=0.0, lpips=None, id_loss=None, noise_mode="const", sample_truncation=1.0,
                 loss_size=None, visual_num=8, max_nonfinite=10, task="encode", label_nc=0, l2_crop_weight=0.0,
                 lpips_crop_weight=0.0, params=None):
        super().__init__(params)
        check_choice("model.noise_mode", noise_mode, ("const", "random", "none"))
        for name, value in [("l2_weight", l2_weight), ("w_norm_weight", w_norm_weight),
                            ("latent_weight", latent_weight), ("l2_crop_weight", l2_crop_weight),
                            ("lpips_crop_weight", lpips_crop_weight)]:
            check_number(f"model.{name}", value)
        self.task = task_named(task, "model.task")
        gen = frozen_generator(generator, generator_weights)
        require_square_rgb(gen, "model.generator")
        self.nets["encoder"] = self.build_encoder(encoder, gen, input_channels(self.task, gen.img_channels, label_nc))
        self.nets["encoder"].set_latent_avg(gen.truncation_mean())  # a resumed checkpoint overrides it
        self.nets["gen"] = gen
        self.loss_weights = {"l2": float(l2_weight), "w_norm": float(w_norm_weight), "latent": float(latent_weight),
                             "l2_crop": float(l2_crop_weight)}
        self.lpips = self.id_loss = None
        if lpips and lpips.get("weight", 0) > 0:
            self.lpips = load_lpips(lpips.get("weights_dir"), "model.lpips.weights_dir")
            self.loss_weights["lpips"] = float(lpips["weight"])
        if lpips_crop_weight > 0:
            if self.lpips is None:
                raise ConfigError("model.lpips_crop_weight: needs model.lpips (its weights_dir)")
            self.loss_weights["lpips_crop"] = float(lpips_crop_weight)
        if id_loss and id_loss.get("weight", 0) > 0:
            kwargs = {k: v for k, v in id_loss.items() if k not in ("weight", "weights")}
            self.id_loss = IDLoss(id_loss.get("weights"), **kwargs)
            self.loss_weights["id"] = float(id_loss["weight"])
        self.noise_mode, self.sample_truncation = noise_mode, sample_truncation
        self.loss_size, self.visual_num, self.max_nonfinite = loss_size, visual_num, max_nonfinite
        self.current_iter = 0

    @staticmethod
    def build_encoder(encoder, gen, input_nc):
        """The encoder of config ``encoder`` for ``gen``: its W+ shape and the task's ``input_nc`` filled in."""
        enc_cfg = dict(encoder)
        enc_cfg.setdefault("n_styles", gen.n_latent)
        enc_cfg.setdefault("style_dim", gen.style_dim)
        enc_cfg.setdefault("input_nc", input_nc)
        if (enc_cfg["n_styles"], enc_cfg["style_dim"]) != (gen.n_latent, gen.style_dim):
            raise ConfigError(f"model.encoder: n_styles / style_dim {enc_cfg['n_styles']} / {enc_cfg['style_dim']} "
                              f"do not match the generator's {gen.n_latent} / {gen.style_dim}")
        if enc_cfg["input_nc"] != input_nc:
            raise ConfigError(f"model.encoder.input_nc: {enc_cfg['input_nc']}, but the task's inputs have "
                              f"{input_nc} channel(s)")
        return build_registered(enc_cfg)

    @property
    def encoder(self):
        return self.nets["encoder"]

    def setup_train_mode(self, is_train):
        super().setup_train_mode(is_train)
        self.nets["encoder"].train() if is_train else self.nets["encoder"].eval()

    # ------------------------------------------------------------------ inputs
    def setup_input(self, input):
        gen = self.nets["gen"]
        if "z" in input:
            with paddle.no_grad():
                w = gen.get_latent(paddle.to_tensor(input["z"]))
                wplus = gen.truncate(w.unsqueeze(1).tile([1, gen.n_latent, 1]), self.sample_truncation)
                self.target, _ = gen([wplus], input_is_latent=True, noise=self.noise_mode)
            self.w_true = wplus
        else:
            self.target = reals_on_device(input["A"])
            self.w_true = None
            if self.target.shape[2] != gen.size:
                self.target = resize_batch(self.target, gen.size)
        self.source = paddle.to_tensor(input["source"]) if "source" in input else None
        self.baseline = resize_batch(paddle.to_tensor(input["baseline"]), gen.size) if "baseline" in input else None
        self.image_paths = input.get("A_path", [])

    def encode(self, images):
        """W+ codes ``[N, n_latent, D]`` for images at any resolution."""
        return self.nets["encoder"](resize_batch(images, self.encoder.input_size))

    def reconstruct(self, codes):
        image, _ = self.nets["gen"]([codes], input_is_latent=True, noise=self.noise_mode)
        return image

    def forward(self):
        self.codes = self.encode(self.target) if self.source is None else self.nets["encoder"](self.source)
        self.recon = self.reconstruct(self.codes)

    # ------------------------------------------------------------------ training
    def loss_terms(self):
        recon, target = resize_batch(self.recon, self.loss_size), resize_batch(self.target, self.loss_size)
        terms = {}
        if self.loss_weights["l2"] > 0:
            terms["l2"] = F.mse_loss(recon, target)
        if self.loss_weights["w_norm"] > 0:
            terms["w_norm"] = (self.codes - self.encoder.latent_avg).square().sum(axis=[1, 2]).sqrt().mean()
        if self.loss_weights["latent"] > 0 and self.w_true is not None:
            terms["latent"] = F.mse_loss(self.codes, self.w_true)
        if self.lpips is not None:
            terms["lpips"] = self.lpips(recon, target).mean()
        if self.loss_weights["l2_crop"] > 0 or "lpips_crop" in self.loss_weights:
            recon_crop, target_crop = face_crop(recon), face_crop(target)
            if self.loss_weights["l2_crop"] > 0:
                terms["l2_crop"] = F.mse_loss(recon_crop, target_crop)
            if "lpips_crop" in self.loss_weights:
                terms["lpips_crop"] = self.lpips(recon_crop, target_crop).mean()
        if self.id_loss is not None:
            terms["id"] = self.id_loss(self.recon, self.target)
        return terms

    def train_iter(self, optimizers=None):
        self.losses.clear()
        self.forward()
        terms = self.loss_terms()
        loss = sum(self.loss_weights[k] * v for k, v in terms.items())
        self._step(next(iter(optimizers.values())), loss, "loss")
        average_statistics(self.nets["encoder"])  # BatchNorm running statistics: the same on every rank
        for k, v in terms.items():
            self.losses[f"loss_{k}"] = v.detach()
        self.losses["loss"] = loss.detach()
        self._count_nonfinite()
        self.current_iter += 1
        n = self.visual_num
        self.visual_items["target_recon"] = grid(paddle.concat([self.target[:n], self.recon[:n].detach()]),
                                                 nrow=min(n, self.target.shape[0]))

    def get_extra_state(self):
        return {"current_iter": int(self.current_iter)}

    def set_extra_state(self, state):
        self.current_iter = int(state.get("current_iter", 0))

    # ------------------------------------------------------------------ evaluation
    def test_iter(self, metrics=None):
        with paddle.no_grad():
            self.forward()
            avg = self.encoder.latent_avg.unsqueeze(0).tile([self.target.shape[0], 1, 1])
            pairs = {"image": (self.recon, self.target), "latent": (self.codes, self.w_true)}
            if any(m.kind.endswith("baseline") for m in (metrics or {}).values() if hasattr(m, "kind")):
                baseline = self.reconstruct(avg) if self.baseline is None else self.baseline  # superres: bicubic
                pairs["image_baseline"] = (baseline, self.target)
                pairs["latent_baseline"] = (avg, self.w_true)
        for metric in (metrics or {}).values():
            pred, truth = pairs[metric.kind if getattr(metric, "kind", None) in KINDS else "image"]
            if truth is not None:
                metric.update(pred.numpy(), truth.numpy())
        self.visual_items["target_recon"] = grid(paddle.concat([self.target, self.recon]),
                                                 nrow=self.target.shape[0])
