"""StyleGANModel: StyleGAN2 / StyleGAN training (losses, lazy regularisation, mixing, EMA, w_avg, progressive
growing) for ppgan's Trainer.

One ``train_iter`` runs the phases of NVlabs' loop that are due at this iteration, each a small method with
its own optimizer step (the phases are data, ``Phase``, as NVlabs' ``accumulate_gradients(phase)``):
D main (GAN loss), D reg every ``r1_interval`` iterations (R1 / R2), G main (GAN loss), G reg every
``pl_interval`` iterations (path length); then the bookkeeping and the EMA update of ``gen_ema``.

Lazy regularisation (StyleGAN2 paper, appendix B): the YAML states the paper's Adam settings; for a
net regularised every k steps the model uses ``lr * r`` and ``beta ** r`` with ``r = k / (k + 1)``.
``lazy_regularization: false`` (StyleGAN v1's ``D_logistic_simplegp``) adds the penalties to the main losses
of every step instead (ratio 1).

``progressive`` (StyleGAN v1 / ProGAN): NVlabs' training schedule (``models/progressive.py``) drives the level
of detail of G, G_ema and D from the images seen, the minibatch (the first ``minibatch / ranks`` images of each
loader batch), both learning rates, the optimizer reset when a new layer enters, and the reals (averaged down
and cross-faded to the level of detail). Its state is in the checkpoint: a resumed run continues exactly.
"""
import logging
import math
import random
import time
from typing import NamedTuple

import numpy as np
import paddle
from ppgan.models.base_model import BaseModel
from ppgan.models.builder import MODELS
from ppgan.models.discriminators.builder import build_discriminator
from ppgan.models.generators.builder import build_generator
from ppgan.solver import build_lr_scheduler, build_optimizer

from ..core.checks import check_bool, check_choice, check_int, check_number, check_probability, require
from ..core.compat import write_
from ..core.config import check_kwargs
from ..core.distributed import all_mean, all_sum, randn_local, replicate_draws as set_replicated_draws
from ..core.errors import ConfigError
from ..core.images import grid, reals_on_device
from ..core.nets import freeze, freeze_parts, set_trainable, trainable_parameters
from ..data.augment import AdaptiveAugment
from ..losses import D_LOSSES, G_LOSSES, gradient_penalty, path_length_penalty, path_lengths, r1_penalty, r2_penalty
from ..ops import double_backward, mixed_precision
from .guard import NonFiniteGuard
from .labels import TrainingLabels
from .loss_scale import LossScaler
from .progressive import ProgressiveSchedule, ScheduledLR, new_layer_entered, process_reals, reset_optimizer_state

ALL = slice(None)  # the whole batch as one part

logger = logging.getLogger(__name__)


def check_arguments(args):
    """The value checks of ``StyleGANModel``'s arguments (``args``: its ``locals()``): one-line errors naming
    ``model.<key>``."""
    check_choice("model.g_loss", args["g_loss"], G_LOSSES)
    check_choice("model.d_loss", args["d_loss"], D_LOSSES)
    for name in ("r1_interval", "pl_interval", "max_nonfinite"):
        check_int(f"model.{name}", args[name])
    for name in ("freeze_d", "max_rollbacks", "amp_resolutions"):
        check_int(f"model.{name}", args[name], minimum=0)
    for name in ("r1_gamma", "r2_gamma", "pl_weight", "ema_kimg", "gp_weight", "start_kimg"):
        check_number(f"model.{name}", args[name])
    for name in ("mixing_prob", "pl_decay", "w_avg_beta"):
        check_probability(f"model.{name}", args[name])
    check_number("model.pl_batch_shrink", args["pl_batch_shrink"], low=1)
    check_number("model.rollback_lr_factor", args["rollback_lr_factor"], low=1e-6, high=1.0)
    if args["batch_gpu"] is not None:
        check_int("model.batch_gpu", args["batch_gpu"])
    for name in ("amp", "lazy_regularization", "replicate_draws"):
        check_bool(f"model.{name}", args[name])
    if args["conv_clamp"] is not None:
        check_number("model.conv_clamp", args["conv_clamp"], low=1e-6)
    for name, what in (("progressive", "NVIDIA's training_schedule arguments"),
                       ("augment", "policy, p, target, interval, kimg")):
        if args[name] is not None and not isinstance(args[name], dict):
            raise ConfigError(f"model.{name}: expected a mapping ({what}), got {args[name]!r}")


class Draw(NamedTuple):
    """The randoms of one generator batch: z (one or two), the noise maps, the mixing crossover, the labels c."""
    zs: list
    noise: list
    inject_index: object
    c: object


def with_c(c):
    """The ``c`` keyword of a generator call: none for an unconditional run (ppgan's generators take none)."""
    return {} if c is None else {"c": c}


def part_of(c, part):
    """Labels of micro-batch ``part`` (None for an unconditional run)."""
    return None if c is None else c[part]


class Phase(NamedTuple):
    """One optimizer step of an iteration: method ``run`` trains ``net`` with ``optimizer`` every
    ``interval`` iterations (lazy regularisation: ``interval > 1``)."""
    name: str
    run: str
    net: str
    optimizer: str
    interval: int = 1

    def due(self, step):
        return step % self.interval == 0


@MODELS.register()
class StyleGANModel(NonFiniteGuard, BaseModel):
    """StyleGAN2 (config F) and StyleGAN (v1, ``progressive``) training; ``generator`` / ``discriminator`` are any
    registered classes with the generator API of ``networks/generators/base.py``."""

    def __init__(self, generator, discriminator=None, g_loss="nonsaturating", d_loss="logistic", wgan_epsilon=0.001,
                 gp_weight=10.0, gp_target=1.0, r1_gamma=10.0, r1_interval=16, r2_gamma=0.0, pl_weight=2.0,
                 pl_interval=4, pl_decay=0.01, pl_batch_shrink=2, mixing_prob=0.9, ema_kimg=10.0, ema_rampup=None,
                 w_avg_beta=0.995, visual_num=16, visual_seed=0, max_nonfinite=10, params=None,
                 max_eval_steps=None, augment=None, amp=False, amp_resolutions=4, conv_clamp=None, freeze_d=0,
                 start_kimg=0, lazy_regularization=True, progressive=None, max_rollbacks=3, rollback_lr_factor=0.5,
                 batch_gpu=None, replicate_draws=False, allow_unused_classes=False):
        super().__init__(params)
        check_arguments(locals())
        self.max_nonfinite = max_nonfinite
        self.configure_rollback(max_rollbacks, rollback_lr_factor)
        self.batch_gpu = batch_gpu
        set_replicated_draws(replicate_draws)  # several ranks: each draws its share, or all the global batch
        self.lazy_regularization = bool(lazy_regularization)
        self.schedule = ProgressiveSchedule.from_config(progressive) if progressive is not None else None

        self.g_loss = G_LOSSES[g_loss]
        self.d_loss = D_LOSSES[d_loss]
        self.d_loss_kwargs = {"wgan_epsilon": wgan_epsilon} if self.d_loss.takes_epsilon else {}
        self.gp_weight, self.gp_target = gp_weight, gp_target
        self.r1_gamma, self.r2_gamma, self.r1_interval = float(r1_gamma), float(r2_gamma), r1_interval
        self.pl_weight, self.pl_interval, self.pl_decay = float(pl_weight), pl_interval, pl_decay
        self.pl_batch_shrink = pl_batch_shrink
        self.mixing_prob, self.ema_kimg, self.ema_rampup = mixing_prob, ema_kimg, ema_rampup
        self.max_eval_steps = max_eval_steps
        self.amp = bool(amp) and "gpu" in paddle.get_device()
        if amp and not self.amp:
            logger.warning(f"model.amp: mixed precision needs a GPU; training in float32 on {paddle.get_device()}")
        self.scalers = {}
        self.augment = AdaptiveAugment(**check_kwargs("model.augment", augment, AdaptiveAugment)) if augment else None

        self._build_nets(generator, discriminator, w_avg_beta, freeze_d)
        self.labels, self.real_c = TrainingLabels(getattr(self.nets["gen"], "c_dim", 0),
                                                      allow_unused_classes), None
        if self.amp:
            self._configure_precision(amp_resolutions, 256 if conv_clamp is None else conv_clamp)

        self.current_iter = 0  # completed training iterations (drives the lazy-regularisation phase)
        self.sched, self.sched_nimg, self.prev_lod = None, None, -1.0  # progressive growing
        self.tick_start_nimg, self.tick_start_time, self.tick = None, None, 0
        self.mean_path_length = paddle.zeros([])
        # images seen: 0 restarts the EMA ramp-up; a fine-tuned release's kimg continues it (--resume restores it)
        self.cur_nimg = int(round(float(start_kimg) * 1000))
        self.world_size = paddle.distributed.get_world_size()
        self.hparams = {}
        rng = np.random.RandomState(visual_seed)
        self.visual_z = paddle.to_tensor(rng.standard_normal([visual_num, self.style_dim]).astype("float32"))
        self.visual_c = self.nets["gen_ema"].cycled_labels(visual_num)  # (conditional: the grid goes round the classes)

    def _build_nets(self, generator, discriminator, w_avg_beta, freeze_d):
        """G, D (when configured) and G_ema from ppgan's registries, checked for what training needs."""
        self.nets["gen"] = build_generator(generator)
        missing = [m for m in ("get_latent", "update_w_avg", "style_affine") if not hasattr(self.nets["gen"], m)]
        require(not missing, f"model.generator: {generator.get('name')!r} lacks {', '.join(missing)}; "
                "StyleGANModel trains StyleGAN2Generator (ppgan weights load into it unchanged)")
        self.style_dim = self.nets["gen"].style_dim
        self.nets["gen"].w_avg_beta = w_avg_beta
        if discriminator:
            self.nets["disc"] = build_discriminator(discriminator)
            self._check_same_images(self.nets["gen"], self.nets["disc"])
        if self.schedule is not None:
            lacking = [k for k in ("gen", "disc") if k in self.nets and not hasattr(self.nets[k], "set_lod")]
            require(not lacking, f"model.progressive: {', '.join(lacking)} has no level of detail (set_lod); "
                    "progressive growing trains StyleGANGenerator / StyleGANDiscriminator (structure: linear)")
        self.freeze_d = freeze_d
        if freeze_d:
            self._freeze_d(freeze_d)
        self.nets["gen_ema"] = build_generator(generator)
        self.nets["gen_ema"].set_state_dict(self.nets["gen"].state_dict())
        freeze(self.nets["gen_ema"])

    @staticmethod
    def _check_same_images(gen, disc):
        """D judges G's images: the same channels, shape and labels (the config keys named when they differ)."""
        g, d = getattr(gen, "img_channels", 3), getattr(disc, "img_channels", 3)
        require(g == d, f"model.generator.{getattr(gen, 'channels_key', 'img_channels')} is {g} but "
                f"model.discriminator.{getattr(disc, 'channels_key', 'img_channels')} is {d}: they must be equal")
        g, d = getattr(gen, "image_shape", None), getattr(disc, "image_shape", None)
        require(g == d, f"model.generator.size makes {g} images (H, W) but model.discriminator.size takes {d}")
        g, d = getattr(gen, "c_dim", 0), getattr(disc, "c_dim", 0)
        require(g == d, f"model.generator.c_dim is {g} but model.discriminator.c_dim is {d}: they must be equal")

    def _configure_precision(self, amp_resolutions, conv_clamp):
        """NVlabs' mixed precision: float16 in the ``amp_resolutions`` highest resolutions, every conv output clamped
        to ``conv_clamp`` (ops/precision.py); networks without float16 blocks train in float32."""
        plans = {}
        for name, net in self.nets.items():
            if hasattr(net, "configure_precision"):
                net.configure_precision(amp_resolutions, conv_clamp)
                plans[name] = [r for r, dtype in net.precision_plan().items() if dtype == "float16"]
        if not plans:
            logger.warning("model.amp: these networks have no float16 blocks (StyleGAN v1): they train in float32")
        for name, float16 in plans.items():
            logger.info(f"model.amp: {name} in float16 at {', '.join(map(str, float16)) or 'no'} px, "
                        f"conv_clamp {conv_clamp}")

    def _freeze_d(self, blocks):
        """FreezeD (Mo et al. 2020): the first ``blocks`` blocks (nearest the image) keep their pretrained weights."""
        disc = self.nets.get("disc")
        prefixes = disc.input_blocks() if hasattr(disc, "input_blocks") else []
        require(blocks <= len(prefixes), f"model.freeze_d: {blocks} blocks, but the discriminator has "
                f"{len(prefixes)} (FromRGB, then one per resolution)")
        freeze_parts(disc, prefixes[:blocks])
        logger.info(f"model.freeze_d: discriminator blocks {prefixes[0].rstrip('.')} .. "
                    f"{prefixes[blocks - 1].rstrip('.')} frozen")

    # ------------------------------------------------------------------ lazy regularisation
    @property
    def d_regularized(self):
        """Whether D has a gradient penalty of its own (R1 and / or R2)."""
        return self.r1_gamma > 0 or self.r2_gamma > 0

    @property
    def d_reg_ratio(self):
        lazy = self.lazy_regularization and self.d_regularized
        return self.r1_interval / (self.r1_interval + 1) if lazy else 1.0

    @property
    def g_reg_ratio(self):
        return self.pl_interval / (self.pl_interval + 1) if self.lazy_regularization and self.pl_weight > 0 else 1.0

    def _ratio(self, net_names):
        return self.g_reg_ratio if "gen" in net_names else self.d_reg_ratio

    def setup_lr_schedulers(self, cfg):
        self.lr_scheduler = {}
        if self.schedule is not None:  # the schedule's G_lrate / D_lrate (the YAML's learning_rate is not used)
            for net, key, ratio in [("gen", "G_lrate", self.g_reg_ratio), ("disc", "D_lrate", self.d_reg_ratio)]:
                self.lr_scheduler[net] = ScheduledLR(self._current_schedule, key, ratio)
            return self.lr_scheduler
        for net, ratio in [("gen", self.g_reg_ratio), ("disc", self.d_reg_ratio)]:
            net_cfg = dict(cfg)
            net_cfg["learning_rate"] = cfg["learning_rate"] * ratio
            self.lr_scheduler[net] = build_lr_scheduler(net_cfg)
        return self.lr_scheduler

    def autocast(self):
        """Mixed precision (the networks' float16 blocks) for the GAN-loss phases when ``model.amp`` is on a GPU."""
        return mixed_precision(self.amp)

    def setup_optimizers(self, lr, cfg):
        for opt_name, opt_cfg in cfg.items():
            opt_cfg = dict(opt_cfg)
            net_names = opt_cfg.pop("net_names")
            ratio = self._ratio(net_names)
            scheduler = lr["gen" if "gen" in net_names else "disc"] if isinstance(lr, dict) else lr
            if opt_cfg.get("name") == "Adam":
                opt_cfg["beta1"] = opt_cfg.get("beta1", 0.9) ** ratio
                opt_cfg["beta2"] = opt_cfg.get("beta2", 0.999) ** ratio
            parameters = []
            for net_name in net_names:
                parameters += trainable_parameters(self.nets[net_name])
            self.optimizers[opt_name] = build_optimizer(opt_cfg, scheduler, parameters)
            if self.amp:  # dynamic loss scaling for the main (GAN-loss) steps; penalties stay float32
                self.scalers[opt_name] = LossScaler(init_scale=2.0 ** 15)
            used = {"lr": float(scheduler.get_lr()), "ratio": ratio,
                    "beta1": opt_cfg.get("beta1"), "beta2": opt_cfg.get("beta2")}
            self.hparams[opt_name] = used
            logger.info(f"{opt_name} ({'+'.join(net_names)}): {opt_cfg.get('name')} lr={used['lr']:.6g} "
                        f"beta1={used['beta1']} beta2={used['beta2']} (paper values scaled by r={ratio:.4f})")
        return self.optimizers

    # ------------------------------------------------------------------ inputs
    def setup_input(self, input):
        self.real_img = reals_on_device(input["A"])
        self.real_c = self.labels.of_batch(input.get("label"))
        if "A_path" in input:
            self.image_paths = input["A_path"]

    def forward(self):
        pass

    def _latents(self, batch):
        """One z, or two with probability ``mixing_prob`` (style mixing regularisation).

        Each rank draws its own share (or its slice of the global batch: ``replicate_draws``), like the noise maps."""
        n = 2 if self.mixing_prob > 0 and random.random() < self.mixing_prob else 1
        return [randn_local([batch, self.style_dim], batch) for _ in range(n)]

    def set_label_pool(self, labels, where="dataset.train"):
        """The training set's labels (the trainer hands them over): what generated labels are drawn from."""
        self.labels.set_pool(labels, where)

    def _draw(self, batch):
        """The randoms of one generator batch (``Draw``)."""
        gen = self.nets["gen"]
        zs = self._latents(batch)
        noise = [randn_local(shape, batch) for shape in gen.noise_shapes(batch)]
        return Draw(zs, noise, gen.draw_inject_index() if len(zs) == 2 else None, self.labels.draw(batch))

    def _generate(self, draw, part=ALL, return_latents=False, w_sums=None):
        """Images of ``part`` of a drawn batch (``_draw``); ``w_sums`` collects the sum of its first w (w_avg)."""
        gen = self.nets["gen"]
        zs, noise, inject_index, c = draw
        ws = [gen.get_latent(z[part], part_of(c, part)) for z in zs]
        if w_sums is not None:
            w_sums.append(ws[0].detach().sum(0, keepdim=True))
        return gen(ws, input_is_latent=True, return_latents=return_latents, noise=[n[part] for n in noise],
                   inject_index=inject_index)

    def _parts(self, batch):
        """The micro-batches of a batch (``model.batch_gpu``): strided slices, so that minibatch-stddev groups
        (samples ``i, i + N / G, ...``) are the full batch's; each with its share of the batch."""
        if not self.batch_gpu or self.batch_gpu >= batch:
            return [(ALL, 1.0)]
        require(batch % self.batch_gpu == 0, f"model.batch_gpu: {self.batch_gpu} does not divide the batch of "
                f"{batch} per rank")
        k = batch // self.batch_gpu
        return [(slice(m, batch, k), 1.0 / k) for m in range(k)]

    # ------------------------------------------------------------------ training phases
    @property
    def phases(self):
        """The phases of an iteration, in order (regularisation phases only when their weight is > 0)."""
        lazy = self.lazy_regularization
        phases = [Phase("D main", "d_main", "disc", "optimD")]
        if lazy and self.d_regularized:
            phases.append(Phase("D reg", "d_reg", "disc", "optimD", self.r1_interval))
        phases.append(Phase("G main", "g_main", "gen", "optimG"))
        if lazy and self.pl_weight > 0:
            phases.append(Phase("G reg", "g_reg", "gen", "optimG", self.pl_interval))
        return phases

    def train_iter(self, optimizers=None):
        self.losses.clear()  # only this iteration's values (regularisers appear on their iterations)
        if self.schedule is not None:
            self._progress(optimizers)
        batch = self.real_img.shape[0]
        for phase in self.phases:
            if phase.due(self.current_iter):
                set_trainable(self.nets["disc"], phase.net == "disc")
                set_trainable(self.nets["gen"], phase.net == "gen")
                getattr(self, phase.run)(optimizers[phase.optimizer], batch)
        set_trainable(self.nets["disc"], True)
        self.end_iteration(batch)

    def _d(self, images, c=None):
        """D on (augmented, when ``model.augment`` is set) images, with their labels ``c`` when conditional."""
        return self._d_plain(self.augment(images) if self.augment is not None else images, c)

    def _d_plain(self, images, c=None):
        return self.nets["disc"](images) if c is None else self.nets["disc"](images, c)

    def d_main(self, opt, batch):
        """GAN loss of D on reals and fakes (plus the WGAN-GP penalty for the ``*_gp`` losses), by micro-batch."""
        draw, scores, self.d_fakes = self._draw(batch), {"real_score": [], "fake_score": []}, {}
        # R1 from this pass's real scores (NVlabs); with AMP the penalty keeps its own float32 pass
        shared = not self.lazy_regularization and self.r1_gamma > 0 and not self.amp

        def part_loss(part, share):
            real, real_pred, fake, fake_pred = self._d_scores(draw, part, shared)
            self._ada_statistic(real_pred)
            loss = self._d_loss_terms(part, share, real, real_pred, fake, fake_pred, shared)
            scores["real_score"].append(real_pred.detach().mean() * share)
            scores["fake_score"].append(fake_pred.detach().mean() * share)
            return loss * share

        self.losses["l_d"] = self._step_parts(opt, self._bind(part_loss, batch), "l_d", self.scalers.get("optimD"))
        for key, values in scores.items():
            self.losses[key] = paddle.add_n(values)

    def _d_scores(self, draw, part, shared):
        """(reals, their scores, fakes, their scores) of micro-batch ``part``; the fakes are kept for R2; with
        ``shared`` the reals require a gradient (R1 from these scores)."""
        real = self.real_img[part]
        with paddle.no_grad(), self.autocast():
            fake, _ = self._generate(draw, part)
        self.d_fakes[str(part)] = fake, part_of(draw.c, part)  # (R2 of the lazy D step)
        if shared:
            real = real.detach()
            real.stop_gradient = False
        with self.autocast():
            real_pred, fake_pred = self._d(real, part_of(self.real_c, part)), self._d(fake, part_of(draw.c, part))
        return real, real_pred.astype("float32"), fake, fake_pred.astype("float32")

    def _ada_statistic(self, real_pred):
        """ADA's overfitting statistic (the sign of D on reals), summed over ranks, read at the iteration's end."""
        if self.augment is not None:
            self.augment.accumulate(real_pred, real_pred.shape[0] * self.world_size, all_sum)
            if self.augment.pending is not None:
                self.read_at_iteration_end("ada_signs", self.augment.pending)

    def _d_loss_terms(self, part, share, real, real_pred, fake, fake_pred, shared):
        """D's loss of one micro-batch: the GAN loss, WGAN-GP for the ``*_gp`` losses, and (not lazy) R1 / R2."""
        loss = self.d_loss.fn(real_pred, fake_pred, **self.d_loss_kwargs)
        if self.d_loss.gradient_penalty:
            real_c = part_of(self.real_c, part)  # (the interpolates are judged with the reals' labels)
            l_gp = gradient_penalty(lambda x: self._d_plain(x, real_c), real, fake.astype("float32"), self.gp_target,
                                    self.gp_weight)
            self._add_loss("l_d_gp", l_gp, share)
            loss = loss + l_gp
        if not self.lazy_regularization and self.d_regularized:
            loss = loss + self._d_penalties(1, part, share, self.d_fakes[str(part)],
                                            real=(real, real_pred) if shared else None)
        return loss

    def _bind(self, fn, batch):
        """``[lambda: fn(part, share)]`` for each micro-batch of ``batch``."""
        return [lambda part=part, share=share: fn(part, share) for part, share in self._parts(batch)]

    def _add_loss(self, key, value, share):
        """Log ``value`` (a micro-batch's mean) as its share of the batch's mean."""
        part = value.detach() * share
        self.losses[key] = part if share == 1.0 or key not in self.losses else self.losses[key] + part

    def d_reg(self, opt, batch):
        """Lazy R1 (reals) / R2 (this iteration's fakes), scaled by gamma / 2 and the interval."""
        fakes = getattr(self, "d_fakes", {})
        self._step_parts(opt, self._bind(lambda part, share: self._d_penalties(
            self.r1_interval, part, share, fakes.get(str(part), (None, None))) * share, batch), "l_d_reg")

    def _d_penalties(self, interval, part=ALL, share=1.0, fake=(None, None), real=None):
        """R1 / R2 times gamma / 2 and ``interval``, each on its own D pass, or R1 on ``real = (reals, scores)``
        of the main pass (non-lazy: NVlabs' ``D_logistic_simplegp``); for micro-batch ``part``; ``fake``: the main
        pass's (fakes, their labels)."""
        loss = 0.0
        for gamma, images, penalty_fn, key in [(self.r1_gamma, self.real_img, r1_penalty, "l_d_r1"),
                                               (self.r2_gamma, fake[0], r2_penalty, "l_d_r2")]:
            if gamma > 0:
                if key == "l_d_r1" and real is not None:
                    x, pred = real
                else:
                    x = (images[part] if key == "l_d_r1" else images).detach()
                    x.stop_gradient = False
                    pred = self._d(x, part_of(self.real_c, part) if key == "l_d_r1" else fake[1])
                value = penalty_fn(pred.astype("float32"), x)
                self._add_loss(key, value, share)
                loss = loss + value * (gamma / 2 * interval)
        return loss

    def g_main(self, opt, batch):
        """GAN loss of G by micro-batch (this step also tracks w_avg, over the whole batch); a loss that compares
        with the reals (``relativistic``) scores this micro-batch's reals with the frozen D."""
        draw, w_sums = self._draw(batch), []

        def part_loss(part, share):
            real_pred = None
            if self.g_loss.needs_real:
                with paddle.no_grad(), self.autocast():
                    real_pred = self._d(self.real_img[part], part_of(self.real_c, part)).astype("float32")
            with self.autocast():
                fake, _ = self._generate(draw, part, w_sums=w_sums)
                fake_pred = self._d(fake, part_of(draw.c, part))
            return self.g_loss.fn(real_pred, fake_pred.astype("float32")) * share

        parts = self._bind(part_loss, batch)
        if not self.lazy_regularization and self.pl_weight > 0:
            parts += self._path_length_parts(batch, interval=1)
        self.losses["l_g"] = self._step_parts(opt, parts, "l_g", self.scalers.get("optimG"))
        self.nets["gen"].update_w_avg(all_mean(paddle.add_n(w_sums) / batch))

    def g_reg(self, opt, batch):
        """Lazy path-length regularisation on a batch shrunk by ``pl_batch_shrink``."""
        self._step_parts(opt, self._path_length_parts(batch, self.pl_interval), "l_g_path")

    def _global_path_length(self, draw, parts, pl_noise):
        """The mean path length of a batch processed in several micro-batches (a first pass without second-order
        graphs), over all ranks."""
        lengths = []
        for part, _ in parts:
            with double_backward():
                fake, latents = self._generate(draw, part, return_latents=True)
                lengths.append(path_lengths(fake, latents, pl_noise[part], create_graph=False).detach())
        return all_mean(paddle.concat(lengths).mean())

    def _path_length_parts(self, batch, interval):
        """The path-length penalty of a batch as micro-batch losses. Every part is penalised against the moving
        average moved by the whole batch's mean length (over the ranks; with several micro-batches it comes from a
        first pass), as one batch would be (``losses.path_length_penalty``)."""
        pl_batch = max(1, int(batch // self.pl_batch_shrink))
        draw = self._draw(pl_batch)
        gen = self.nets["gen"]
        height, width = gen.image_shape
        pl_noise = randn_local([pl_batch, gen.img_channels, height, width], pl_batch) / math.sqrt(height * width)
        parts, old_mean = self._parts(pl_batch), self.mean_path_length
        global_mean = self._global_path_length(draw, parts, pl_noise) if len(parts) > 1 else None

        def part_loss(part, share):
            with double_backward():  # the penalty differentiates d(image)/d(w)
                fake, latents = self._generate(draw, part, return_latents=True)
                penalty, lengths, new_mean = path_length_penalty(
                    fake, latents, old_mean, self.pl_decay, pl_noise[part], batch_mean=all_mean,
                    global_mean=global_mean)
            self.mean_path_length = new_mean
            self.losses["path_length"] = lengths
            self._add_loss("l_g_path", penalty, share)
            return penalty * (self.pl_weight * interval * share)

        return self._bind(part_loss, pl_batch)

    # ------------------------------------------------------------------ progressive growing
    def _schedule_at(self, nimg):
        return self.schedule(nimg, self.nets["gen"].log_size, self.world_size)

    def _current_schedule(self):
        if self.sched is None:
            self.sched = self._schedule_at(self.cur_nimg)
        return self.sched

    def _apply_schedule(self, optimizers=None):
        """Level of detail on G, G_ema, D; the optimizers reset when a new layer enters; learning rates."""
        lod = self.sched["lod"]
        if optimizers and self.schedule.reset_opt_for_new_lod and new_layer_entered(lod, self.prev_lod):
            for opt in optimizers.values():
                reset_optimizer_state(opt)
        self.prev_lod = lod
        for name in ("gen", "gen_ema", "disc"):
            if name in self.nets:
                self.nets[name].set_lod(lod)
        for scheduler in getattr(self, "lr_scheduler", {}).values():
            scheduler.last_lr = scheduler.get_lr()

    def _progress(self, optimizers):
        """Every ``minibatch_repeats`` iterations the schedule is re-read (NVlabs); the reals are cut to this
        rank's share of the minibatch and brought to the level of detail."""
        if self.current_iter % self.schedule.minibatch_repeats == 0 or self.sched is None:
            self.sched_nimg = self.cur_nimg
            self.sched = self._schedule_at(self.cur_nimg)
            self._apply_schedule(optimizers)
        local = self.sched["minibatch"] // self.world_size
        require(local <= self.real_img.shape[0], f"model.progressive: minibatch {self.sched['minibatch']} at "
                f"{self.sched['resolution']} px needs {local} images per rank, the loader gives "
                f"{self.real_img.shape[0]} (dataset.train.batch_size)")
        self.real_img = process_reals(self.real_img[:local], self.sched["lod"])
        self.real_c = part_of(self.real_c, slice(0, local))  # (conditional: those reals' labels)
        for key in ("kimg", "lod", "minibatch"):  # (Python numbers: no host -> device copy per iteration)
            self.losses[key] = float(self.sched[key])
        self._tick()

    def _tick(self):
        """NVlabs' progress line once per ``tick_kimg``: kimg, lod, minibatch, sec/kimg."""
        now = time.time()
        if self.tick_start_nimg is None:
            self.tick_start_nimg, self.tick_start_time = self.cur_nimg, now
            return
        done_kimg = (self.cur_nimg - self.tick_start_nimg) / 1000.0
        if done_kimg >= self.sched["tick_kimg"]:
            self.tick += 1
            logger.info(f"tick {self.tick} kimg {self.cur_nimg / 1000:.1f} lod {self.sched['lod']:.2f} minibatch "
                        f"{self.sched['minibatch']} sec/kimg {(now - self.tick_start_time) / done_kimg:.2f}")
            self.tick_start_nimg, self.tick_start_time = self.cur_nimg, now

    def end_iteration(self, batch):
        """Non-finite bookkeeping, counters, loss scales, the ADA update and the EMA of G."""
        self._count_nonfinite()
        if self.augment is not None and "ada_signs" in self.iteration_values:
            self.augment.record(self.iteration_values["ada_signs"])
        self.current_iter += 1
        self.cur_nimg += batch * self.world_size
        for name, scaler in self.scalers.items():  # (a tensor: read only when logged, no sync here)
            self.losses[f"loss_scale_{name}"] = scaler.scale_tensor
        if self.augment is not None:
            self.augment.adjust(self.current_iter)
            self.losses["aug_p"] = float(self.augment.p)  # (a Python number: no host -> device copy)
        self.update_ema(batch * self.world_size)
        self.visual_items["real_img"] = self.real_img

    def ema_beta(self, global_batch):
        """``0.5 ** (batch / ema_nimg)``: the EMA half-life is ``ema_kimg`` thousand images."""
        ema_nimg = self.ema_kimg * 1000
        if self.ema_rampup:
            ema_nimg = min(ema_nimg, self.cur_nimg * self.ema_rampup)
        return 0.5 ** (global_batch / max(ema_nimg, 1e-8))

    @paddle.no_grad()
    def update_ema(self, global_batch):
        """gen_ema <- lerp(gen, gen_ema, beta) for parameters; buffers (noise, w_avg) are copied."""
        beta = self.ema_beta(global_batch)
        src, dst = self.nets["gen"], self.nets["gen_ema"]
        for p, p_ema in zip(src.parameters(), dst.parameters()):
            write_(p_ema, paddle.lerp(p, p_ema, beta))  # p + beta (p_ema - p) in one op, as NVlabs
        for b, b_ema in zip(src.buffers(), dst.buffers()):
            write_(b_ema, b)

    # ------------------------------------------------------------------ resume state
    def get_extra_state(self):
        """What ppgan's Trainer does not save: the lazy-regularisation phase and path-length mean."""
        state = {"current_iter": int(self.current_iter), "cur_nimg": int(self.cur_nimg),
                 "mean_path_length": float(self.mean_path_length)}
        if self.augment is not None:
            state["augment"] = self.augment.state()
        if self.schedule is not None and self.sched_nimg is not None:
            state["progressive"] = {"sched_nimg": int(self.sched_nimg), "prev_lod": float(self.prev_lod)}
        if self.scalers:
            state["scalers"] = {name: scaler.state_dict() for name, scaler in self.scalers.items()}
        return state

    def set_extra_state(self, state):
        self.current_iter = int(state["current_iter"])
        self.cur_nimg = int(state.get("cur_nimg", 0))
        self.mean_path_length = paddle.full([], float(state["mean_path_length"]))
        if self.augment is not None and "augment" in state:
            self.augment.load(state["augment"])
        if self.schedule is not None and "progressive" in state:  # the schedule held since its last reading
            self.sched_nimg = state["progressive"]["sched_nimg"]
            self.sched = self._schedule_at(self.sched_nimg)
            self.prev_lod = state["progressive"]["prev_lod"]
            self._apply_schedule()
        for name, scaler_state in state.get("scalers", {}).items():
            if name in self.scalers:
                self.scalers[name].load_state_dict(scaler_state)

    # ------------------------------------------------------------------ visuals / eval
    def compute_visuals(self):
        gen_ema = self.nets["gen_ema"]
        with paddle.no_grad():
            samples, _ = gen_ema([self.visual_z], noise="const", **with_c(self.visual_c))
        self.visual_items["samples_ema"] = grid(samples)  # uint8 HWC: ppgan's tensor2img passes it through

    def test_iter(self, metrics=None):
        gen_ema = self.nets["gen_ema"]
        with paddle.no_grad():
            batch = self.real_img.shape[0]
            noise = [randn_local(shape, batch) for shape in gen_ema.noise_shapes(batch)]
            fake, _ = gen_ema([randn_local([batch, self.style_dim], batch)], noise=noise, **with_c(self.real_c))
            if metrics is not None:
                for metric in metrics.values():
                    if hasattr(metric, "set_generator"):  # PPL samples the generator itself
                        metric.set_generator(gen_ema)
                    metric.update(fake, self.real_img)
        self.visual_items["fake_img"] = fake
