"""Projection: find the W / W+ latent (and noise maps) that reproduce a target image.

NVlabs' projector recipe (StyleGAN2 paper, appendix D): Adam on w with the learning rate ramped up
over the first 5% of steps and down with a cosine over the last 25%; Gaussian noise added to w,
scaled by the spread of W and decaying to zero over the first 75% of steps; the per-layer noise maps
are optimised too, with a multi-scale autocorrelation penalty, and re-normalised every step.
"""
import math

import numpy as np
import paddle
import paddle.nn.functional as F
from tqdm import tqdm

from ..core.compat import write_
from ..core.errors import UserError
from ..core.images import grid, save_animation, save_png, to_uint8
from ..core.nets import set_trainable
from .base import GeneratorPredictor


def noise_regularization(noises):
    """Sum over maps and scales of squared 1-pixel autocorrelations (rows and columns)."""
    loss = 0.0
    for n in noises:
        while True:
            loss = loss + paddle.mean(n * paddle.roll(n, 1, axis=3)) ** 2 + paddle.mean(n * paddle.roll(n, 1, axis=2)) ** 2
            if min(n.shape[2:]) <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return loss


def downsample256(images):
    """NVlabs' projector: images over 256 px area-downsampled to 256 (non-square: the short side to 256)."""
    height, width = images.shape[2:]
    factor = min(height, width) // 256
    return F.adaptive_avg_pool2d(images, [height // factor, width // factor]) if factor > 1 else images


def lr_schedule(t, initial_lr, rampdown=0.25, rampup=0.05):
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return initial_lr * ramp * min(1.0, t / rampup)


class Projector(GeneratorPredictor):
    def load_target(self, path):
        """An image file -> ``[1, C, H, W]`` of the generator's images in [-1, 1] (center crop, Lanczos resize)."""
        return self.load_image(path)

    def w_stats(self, n=10000, seed=0):
        """(w_avg ``[1, D]``, scalar spread of W around it) from ``n`` mapped samples."""
        z = paddle.to_tensor(np.random.RandomState(seed).standard_normal([n, self.style_dim]).astype("float32"))
        with paddle.no_grad():
            w = self.generator.get_latent(z, self.c(n))
            avg = self.generator.truncation_mean() if self.label is None else w.mean(0, keepdim=True)  # (the class's)
            std = float(paddle.sqrt(((w - avg) ** 2).sum() / n))
        return avg, std

    def project(self, target, steps=300, space="w+", lr=0.1, noise_reg=1e5, initial_noise_factor=0.05,
                noise_ramp=0.75, optimize_noise=True, seed=0, snapshots=0, lpips=None, lpips_weight=1.0):
        """Returns (W+ ``[1, n_latent, D]``, the noise maps, image, mse per step, snapshot images); the image is
        ``generator([W+], noise=maps)``.

        ``lpips``: a perceptual distance (``ppgan_stylegan.perceptual.load_lpips``) added to the MSE with
        ``lpips_weight``; images larger than 256 px are area-downsampled to 256 first (NVlabs).
        """
        run = self.projection(target, steps, space, lr, noise_reg, initial_noise_factor, noise_ramp,
                              optimize_noise, seed, snapshots, lpips, lpips_weight)
        while True:
            try:
                next(run)
            except StopIteration as done:
                return done.value

    def projection(self, target, steps=300, space="w+", lr=0.1, noise_reg=1e5, initial_noise_factor=0.05,
                   noise_ramp=0.75, optimize_noise=True, seed=0, snapshots=0, lpips=None, lpips_weight=1.0):
        """``project`` step by step: yields ``(step, that step's image [1, C, H, W])`` after every optimisation
        step (the web app shows them and may stop early by closing it); returns what ``project`` returns."""
        if space not in ("w", "w+"):
            raise UserError(f"--space must be w or w+, got {space!r}")
        gen = self.generator
        paddle.seed(seed)
        avg, w_std = self.w_stats(seed=seed)
        layers = 1 if space == "w" else self.n_latent
        w_opt = paddle.create_parameter([1, layers, self.style_dim], "float32",
                                        default_initializer=paddle.nn.initializer.Assign(
                                            avg.numpy()[:, None].repeat(layers, axis=1)))
        if optimize_noise or gen.is_concat:
            noises = [paddle.create_parameter(s, "float32", default_initializer=paddle.nn.initializer.Normal())
                      for s in gen.noise_shapes(1)]
        else:  # keep the generator's stored noise maps
            noises = [getattr(gen.noises, f"noise_{i}").clone() for i in range(gen.num_layers)]
        params = [w_opt] + (noises if optimize_noise else [])
        for n in noises:
            n.stop_gradient = not optimize_noise
        opt = paddle.optimizer.Adam(learning_rate=lr, beta1=0.9, beta2=0.999, parameters=params)
        set_trainable(gen, False)
        losses, shots, self.w_path = [], [], []
        every = max(1, steps // snapshots) if snapshots else 0
        for step in tqdm(range(steps), desc="projecting", unit="step"):
            t = step / steps
            opt.set_lr(lr_schedule(t, lr))
            w_noise_scale = w_std * initial_noise_factor * max(0.0, 1.0 - t / noise_ramp) ** 2
            ws = w_opt + paddle.randn(w_opt.shape) * w_noise_scale
            ws = ws.tile([1, self.n_latent // layers, 1]) if layers == 1 else ws
            img, _ = gen([ws], input_is_latent=True, noise=noises)
            mse = F.mse_loss(img, target)
            loss = mse
            if lpips is not None:
                loss = loss + lpips_weight * lpips(downsample256(img), downsample256(target)).mean()
            if optimize_noise:
                loss = loss + noise_reg * noise_regularization(noises)
            opt.clear_grad()
            loss.backward()
            opt.step()
            if optimize_noise:
                with paddle.no_grad():
                    for n in noises:
                        write_(n, (n - n.mean()) * paddle.rsqrt((n - n.mean()).square().mean() + 1e-8))
            losses.append(float(mse))
            self.w_path.append(w_opt.detach().numpy())  # (the optimisation's W, for ``video``)
            if every and (step % every == 0 or step == steps - 1):
                shots.append(img.detach().numpy())
            yield step, img.detach()
        final_w = w_opt.detach().tile([1, self.n_latent // layers, 1]) if layers == 1 else w_opt.detach()
        final_noise = [n.detach() for n in noises]
        image = self.synthesize(final_w, final_noise)
        return final_w, final_noise, image, losses, shots

    def video(self, name, target, noise, fps=10, batch=16):
        """``<name>.mp4`` (a GIF without the video extra): the target beside the image of every step's W+ with the
        final noise maps, as stylegan2-ada-pytorch's ``proj.mp4``. Call after ``project``."""
        frames = []
        for i in range(0, len(self.w_path), batch):
            ws = paddle.to_tensor(np.concatenate(self.w_path[i:i + batch]))
            ws = ws.tile([1, self.n_latent // ws.shape[1], 1])
            images = self.synthesize(ws, noise, batch).numpy()
            frames += [grid(np.stack([target.numpy()[0], image]), nrow=2, pad=0) for image in images]
        return save_animation(frames, self.path(name), fps)

    def save(self, name, target, wplus, noise, image, shots=()):
        """``<name>.npz`` (W+ and the noise maps: what reproduces ``<name>.png``), ``<name>.png`` and, with
        snapshots, ``<name>_progress.png``."""
        files = [self.save_latent(self.path(f"{name}.npz"), wplus, noise),
                 save_png(to_uint8(image)[0], self.path(f"{name}.png"))]
        if len(shots):
            strip = np.concatenate([target.numpy()] + list(shots))
            files.append(save_png(grid(strip, nrow=len(strip)), self.path(f"{name}_progress.png")))
        return files
