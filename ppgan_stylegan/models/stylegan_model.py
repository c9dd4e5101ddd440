"""StyleGANModel: StyleGAN2 training (losses, lazy regularisation, mixing, EMA, w_avg) for ppgan's Trainer.

One ``train_iter`` = the four phases of NVlabs' loop, each with its own optimizer step:
D main (GAN loss), D reg every ``r1_interval`` iterations (R1 / R2), G main (GAN loss), G reg every
``pl_interval`` iterations (path length), then the EMA update of ``gen_ema``.

Lazy regularisation (StyleGAN2 paper, appendix B): the YAML states the paper's Adam settings; for a
net regularised every k steps the model uses ``lr * r`` and ``beta ** r`` with ``r = k / (k + 1)``.
"""
import logging
import math
import random

import numpy as np
import paddle
from ppgan.models.base_model import BaseModel
from ppgan.models.builder import MODELS
from ppgan.models.discriminators.builder import build_discriminator
from ppgan.models.generators.builder import build_generator
from ppgan.solver import build_lr_scheduler, build_optimizer

from ..config import check_kwargs
from ..distributed import all_mean, all_sum, randn_local
from ..losses import D_LOSSES, G_LOSSES, gradient_penalty, path_length_penalty, r1_penalty, r2_penalty
from ..ops.augment import AdaptiveAugment
from ..visual import grid
from .guard import NonFiniteGuard

logger = logging.getLogger(__name__)


def bare(net):
    """The layer inside a DataParallel wrapper (or the layer itself)."""
    return net._layers if isinstance(net, paddle.DataParallel) else net


def _check(cond, message):
    if not cond:
        raise ValueError(message)


@MODELS.register()
class StyleGANModel(NonFiniteGuard, BaseModel):
    """StyleGAN2 (config F) training model; ``generator`` / ``discriminator`` are any registered classes."""

    def __init__(self, generator, discriminator=None, g_loss="nonsaturating", d_loss="logistic", wgan_epsilon=0.001,
                 gp_weight=10.0, gp_target=1.0, r1_gamma=10.0, r1_interval=16, r2_gamma=0.0, pl_weight=2.0,
                 pl_interval=4, pl_decay=0.01, pl_batch_shrink=2, mixing_prob=0.9, ema_kimg=10.0, ema_rampup=None,
                 w_avg_beta=0.995, visual_num=16, visual_seed=0, max_nonfinite=10, params=None,
                 max_eval_steps=None, augment=None, amp=False):
        super().__init__(params)
        _check(g_loss in G_LOSSES, f"model.g_loss: expected one of {sorted(G_LOSSES)}, got {g_loss!r}")
        _check(d_loss in D_LOSSES, f"model.d_loss: expected one of {sorted(D_LOSSES)}, got {d_loss!r}")
        for name, value in [("r1_interval", r1_interval), ("pl_interval", pl_interval)]:
            _check(isinstance(value, int) and value >= 1, f"model.{name}: expected an integer >= 1, got {value!r}")
        for name, value in [("r1_gamma", r1_gamma), ("r2_gamma", r2_gamma), ("pl_weight", pl_weight),
                            ("ema_kimg", ema_kimg), ("gp_weight", gp_weight)]:
            _check(isinstance(value, (int, float)) and value >= 0, f"model.{name}: expected a number >= 0, got {value!r}")
        for name, value in [("mixing_prob", mixing_prob), ("pl_decay", pl_decay), ("w_avg_beta", w_avg_beta)]:
            _check(isinstance(value, (int, float)) and 0 <= value <= 1,
                   f"model.{name}: expected a probability in [0, 1], got {value!r}")
        _check(pl_batch_shrink >= 1, f"model.pl_batch_shrink: expected >= 1, got {pl_batch_shrink!r}")
        _check(isinstance(max_nonfinite, int) and max_nonfinite >= 1,
               f"model.max_nonfinite: expected an integer >= 1, got {max_nonfinite!r}")
        self.max_nonfinite = max_nonfinite

        self.g_loss_fn = G_LOSSES[g_loss]
        self.d_loss_fn, self.use_gp, takes_eps = D_LOSSES[d_loss]
        self.d_loss_kwargs = {"wgan_epsilon": wgan_epsilon} if takes_eps else {}
        self.gp_weight, self.gp_target = gp_weight, gp_target
        self.r1_gamma, self.r2_gamma, self.r1_interval = float(r1_gamma), float(r2_gamma), r1_interval
        self.pl_weight, self.pl_interval, self.pl_decay = float(pl_weight), pl_interval, pl_decay
        self.pl_batch_shrink = pl_batch_shrink
        self.mixing_prob, self.ema_kimg, self.ema_rampup = mixing_prob, ema_kimg, ema_rampup
        self.max_eval_steps = max_eval_steps
        if augment is not None and not isinstance(augment, dict):
            raise ValueError(f"model.augment: expected a mapping (policy, p, target, interval, kimg), got {augment!r}")
        self.amp = bool(amp) and "gpu" in paddle.get_device()
        if amp and not self.amp:
            logger.warning(f"model.amp: mixed precision needs a GPU; training in float32 on {paddle.get_device()}")
        self.scalers = {}
        self.augment = AdaptiveAugment(**check_kwargs("model.augment", augment, AdaptiveAugment)) if augment else None

        self.nets["gen"] = build_generator(generator)
        missing = [m for m in ("get_latent", "update_w_avg", "style_affine") if not hasattr(self.nets["gen"], m)]
        _check(not missing, f"model.generator: {generator.get('name')!r} lacks {', '.join(missing)}; "
                            "StyleGANModel trains StyleGAN2Generator (ppgan weights load into it unchanged)")
        self.style_dim = self.nets["gen"].style_dim
        self.nets["gen"].w_avg_beta = w_avg_beta
        if discriminator:
            self.nets["disc"] = build_discriminator(discriminator)
        self.nets["gen_ema"] = build_generator(generator)
        self.nets["gen_ema"].set_state_dict(self.nets["gen"].state_dict())
        self.nets["gen_ema"].eval()
        for p in self.nets["gen_ema"].parameters():
            p.stop_gradient = True

        self.current_iter = 0  # completed training iterations (drives the lazy-regularisation phase)
        self.mean_path_length = paddle.zeros([])
        self.cur_nimg = 0
        self.world_size = paddle.distributed.get_world_size()
        self.hparams = {}
        rng = np.random.RandomState(visual_seed)
        self.visual_z = paddle.to_tensor(rng.standard_normal([visual_num, self.style_dim]).astype("float32"))

    # ------------------------------------------------------------------ lazy regularisation
    @property
    def d_reg_ratio(self):
        return self.r1_interval / (self.r1_interval + 1) if (self.r1_gamma > 0 or self.r2_gamma > 0) else 1.0

    @property
    def g_reg_ratio(self):
        return self.pl_interval / (self.pl_interval + 1) if self.pl_weight > 0 else 1.0

    def _ratio(self, net_names):
        return self.g_reg_ratio if "gen" in net_names else self.d_reg_ratio

    def setup_lr_schedulers(self, cfg):
        self.lr_scheduler = {}
        for net, ratio in [("gen", self.g_reg_ratio), ("disc", self.d_reg_ratio)]:
            net_cfg = dict(cfg)
            net_cfg["learning_rate"] = cfg["learning_rate"] * ratio
            self.lr_scheduler[net] = build_lr_scheduler(net_cfg)
        return self.lr_scheduler

    def autocast(self):
        """float16 autocast (paddle.amp O1) for the GAN-loss phases when ``model.amp`` is on a GPU."""
        return paddle.amp.auto_cast(enable=self.amp, level="O1")

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
                parameters += self.nets[net_name].parameters()
            self.optimizers[opt_name] = build_optimizer(opt_cfg, scheduler, parameters)
            if self.amp:  # dynamic loss scaling for the main (GAN-loss) steps; penalties stay float32
                self.scalers[opt_name] = paddle.amp.GradScaler(init_loss_scaling=2.0 ** 15)
            used = {"lr": float(scheduler.get_lr()), "ratio": ratio,
                    "beta1": opt_cfg.get("beta1"), "beta2": opt_cfg.get("beta2")}
            self.hparams[opt_name] = used
            logger.info(f"{opt_name} ({'+'.join(net_names)}): {opt_cfg.get('name')} lr={used['lr']:.6g} "
                        f"beta1={used['beta1']} beta2={used['beta2']} (paper values scaled by r={ratio:.4f})")
        return self.optimizers

    # ------------------------------------------------------------------ inputs
    def setup_input(self, input):
        self.real_img = paddle.to_tensor(input["A"]) if not isinstance(input["A"], paddle.Tensor) else input["A"]
        if "A_path" in input:
            self.image_paths = input["A_path"]

    def forward(self):
        pass

    def _latents(self, batch):
        """One z, or two with probability ``mixing_prob`` (style mixing regularisation).

        Drawn for the global batch and sliced per rank (``distributed``), like the noise maps."""
        n = 2 if self.mixing_prob > 0 and random.random() < self.mixing_prob else 1
        return [randn_local([batch, self.style_dim], batch) for _ in range(n)]

    def _generate(self, batch, track_w_avg=False, return_latents=False):
        gen = self.nets["gen"]
        zs = self._latents(batch)
        ws = [bare(gen).get_latent(z) for z in zs]
        if track_w_avg:
            bare(gen).update_w_avg(all_mean(ws[0].detach().mean(0, keepdim=True)))
        noise = [randn_local(shape, batch) for shape in bare(gen).noise_shapes(batch)]
        return gen(ws, input_is_latent=True, return_latents=return_latents, noise=noise)

    # ------------------------------------------------------------------ training
    def _d(self, images):
        """D on (augmented, when ``model.augment`` is set) images."""
        return self.nets["disc"](self.augment(images) if self.augment is not None else images)

    def _set_trainable(self, name, flag):
        for p in self.nets[name].parameters():
            p.stop_gradient = not flag

    def train_iter(self, optimizers=None):
        disc = self.nets["disc"]
        opt_g, opt_d = optimizers["optimG"], optimizers["optimD"]
        real = self.real_img
        batch = real.shape[0]
        step = self.current_iter
        self.losses.clear()  # only this iteration's values (regularisers appear on their iterations)

        # D main
        self._set_trainable("disc", True)
        self._set_trainable("gen", False)
        with paddle.no_grad(), self.autocast():
            fake, _ = self._generate(batch)
        with self.autocast():
            real_pred, fake_pred = self._d(real), self._d(fake)
        real_pred, fake_pred = real_pred.astype("float32"), fake_pred.astype("float32")
        if self.augment is not None:
            self.augment.accumulate(real_pred, batch * self.world_size)
        l_d = self.d_loss_fn(real_pred, fake_pred, **self.d_loss_kwargs)
        if self.use_gp:
            l_gp = gradient_penalty(disc, real, fake.astype("float32"), self.gp_target, self.gp_weight)
            self.losses["l_d_gp"] = l_gp.detach()
            l_d = l_d + l_gp
        self._step(opt_d, l_d, "l_d", self.scalers.get("optimD"))
        self.losses["l_d"] = l_d.detach()
        self.losses["real_score"] = real_pred.detach().mean()
        self.losses["fake_score"] = fake_pred.detach().mean()

        # D reg (lazy R1 / R2)
        if (self.r1_gamma > 0 or self.r2_gamma > 0) and step % self.r1_interval == 0:
            l_reg = 0.0
            for gamma, images, penalty_fn, key in [(self.r1_gamma, real, r1_penalty, "l_d_r1"),
                                                   (self.r2_gamma, fake, r2_penalty, "l_d_r2")]:
                if gamma > 0:
                    x = images.detach()
                    x.stop_gradient = False
                    value = penalty_fn(self._d(x), x)
                    self.losses[key] = value.detach()
                    l_reg = l_reg + value * (gamma / 2 * self.r1_interval)
            self._step(opt_d, l_reg, "l_d_reg")

        # G main
        self._set_trainable("disc", False)
        self._set_trainable("gen", True)
        with self.autocast():
            fake, _ = self._generate(batch, track_w_avg=True)
            fake_pred = self._d(fake)
        l_g = self.g_loss_fn(fake_pred.astype("float32"))
        self._step(opt_g, l_g, "l_g", self.scalers.get("optimG"))
        self.losses["l_g"] = l_g.detach()

        # G reg (lazy path length)
        if self.pl_weight > 0 and step % self.pl_interval == 0:
            pl_batch = max(1, int(batch // self.pl_batch_shrink))
            fake, latents = self._generate(pl_batch, return_latents=True)
            pl_noise = randn_local(fake.shape, pl_batch) / math.sqrt(fake.shape[2] * fake.shape[3])
            penalty, lengths, self.mean_path_length = path_length_penalty(
                fake, latents, self.mean_path_length, self.pl_decay, pl_noise, batch_mean=all_mean)
            self._step(opt_g, penalty * (self.pl_weight * self.pl_interval), "l_g_path")
            self.losses["l_g_path"] = penalty.detach()
            self.losses["path_length"] = lengths

        self._set_trainable("disc", True)
        self._count_nonfinite()
        self.current_iter += 1
        self.cur_nimg += batch * self.world_size
        for name, scaler in self.scalers.items():
            self.losses[f"loss_scale_{name}"] = paddle.to_tensor(float(scaler._scale))
        if self.augment is not None:
            self.augment.adjust(self.current_iter, all_sum)
            self.losses["aug_p"] = paddle.to_tensor(self.augment.p)
        self.update_ema(batch * self.world_size)
        self.visual_items["real_img"] = real

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
        src, dst = bare(self.nets["gen"]), bare(self.nets["gen_ema"])
        for p, p_ema in zip(src.parameters(), dst.parameters()):
            p_ema.set_value(p + (p_ema - p) * beta)
        for b, b_ema in zip(src.buffers(), dst.buffers()):
            b_ema.set_value(b)

    # ------------------------------------------------------------------ resume state
    def get_extra_state(self):
        """What ppgan's Trainer does not save: the lazy-regularisation phase and path-length mean."""
        state = {"current_iter": int(self.current_iter), "cur_nimg": int(self.cur_nimg),
                 "mean_path_length": float(self.mean_path_length)}
        if self.augment is not None:
            state["augment"] = self.augment.state()
        if self.scalers:
            state["scalers"] = {name: {k: float(v) if isinstance(v, paddle.Tensor) else v
                                       for k, v in scaler.state_dict().items()} for name, scaler in self.scalers.items()}
        return state

    def set_extra_state(self, state):
        self.current_iter = int(state["current_iter"])
        self.cur_nimg = int(state.get("cur_nimg", 0))
        self.mean_path_length = paddle.full([], float(state["mean_path_length"]))
        if self.augment is not None and "augment" in state:
            self.augment.load(state["augment"])
        for name, scaler_state in state.get("scalers", {}).items():
            if name in self.scalers:
                self.scalers[name].load_state_dict(scaler_state)

    # ------------------------------------------------------------------ visuals / eval
    def compute_visuals(self):
        gen_ema = bare(self.nets["gen_ema"])
        with paddle.no_grad():
            samples, _ = gen_ema([self.visual_z], noise="const")
        self.visual_items["samples_ema"] = grid(samples)  # uint8 HWC: ppgan's tensor2img passes it through

    def test_iter(self, metrics=None):
        gen_ema = bare(self.nets["gen_ema"])
        with paddle.no_grad():
            batch = self.real_img.shape[0]
            noise = [randn_local(shape, batch) for shape in gen_ema.noise_shapes(batch)]
            fake, _ = gen_ema([randn_local([batch, self.style_dim], batch)], noise=noise)
            if metrics is not None:
                for metric in metrics.values():
                    if hasattr(metric, "set_generator"):  # PPL samples the generator itself
                        metric.set_generator(gen_ema)
                    metric.update(fake, self.real_img)
        self.visual_items["fake_img"] = fake
