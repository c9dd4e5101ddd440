"""The embedded demo: train StyleGAN2 on 100 LFW faces (32x32, bundled with scikit-image) on the CPU.

Prepares the demo data if missing, measures SWD of gen_ema against the real faces before and after
training (ProGAN's definition), shows a progress bar with the ETA, and writes sample grids (PNG), a latent
interpolation strip (PNG) and animation (GIF) of gen_ema, a loss / SWD plot (PNG) and summary.json.
"""
import os
import time
from typing import NamedTuple

import numpy as np
import paddle
from matplotlib.figure import Figure
from ppgan.utils.logger import setup_logger

from ..core import quick, runtime
from ..core.config import load_config
from ..core.extras import have_extra
from ..core.device import use_device
from ..core.errors import UserError
from ..core.files import atomic_write, write_json
from ..core.runs import new_run_folder, point_latest
from ..core.checks import IMAGE_CHANNELS
from ..core.images import (grid, image_shape, list_images, read_image, save_gif, save_grid, save_video,
                           to_tensor_range)
from ..data.prepare import DEMO_CLASSES, DEMO_FACES, DEMO_SIZE, prepare_demo
from ..engine import ResumableTrainer, seed_everything
from ..metrics import swd
from ..networks.families import family_of_class
from .psp_demo import run_psp_demo


def load_reals(folder, channels=3):
    """The demo images ``[N, channels, H, W]`` in [-1, 1]."""
    return np.stack([to_tensor_range(read_image(p, channels)) for p in list_images(folder)])


def demo_data(data, cfg):
    """The folder of demo images for the config's image shape, channels and labels: ``data`` for the 32x32 RGB
    demo, else ``<data>-<W>x<H>-<channels>`` (``-classes``: a class-conditional config's faces and other images);
    prepared when missing. Returns (folder, channels)."""
    gen = cfg.model.generator
    family = family_of_class(gen.get("name"))
    channels = gen.get(family.generator.channels_key, 3) if family else 3
    height, width = image_shape(gen.get("size", DEMO_SIZE))
    classes = bool(gen.get("c_dim", 0))
    if (height, width, channels, classes) != (DEMO_SIZE, DEMO_SIZE, 3, False):
        data = f"{data}-{width}x{height}-{IMAGE_CHANNELS[channels].lower()}" + ("-classes" if classes else "")
    have = len(list_images(data)) if os.path.isdir(data) else 0
    if have < DEMO_FACES * (len(DEMO_CLASSES) if classes else 1):
        prepare_demo(data, (height, width), channels, classes)
    return data, channels


class DemoSet(NamedTuple):
    """Real images the samples are measured against: all of them (``name`` ''), or one class's with the labels
    ``c`` its samples are drawn with."""
    name: str
    reals: np.ndarray
    c: object


def demo_sets(data, gen, channels):
    """One set of the demo's reals, or (conditional) one per class folder (sorted: class 0, 1, ...)."""
    if not getattr(gen, "c_dim", 0):
        return [DemoSet("", load_reals(data, channels), None)]
    folders = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)))
    sets = [load_reals(os.path.join(data, name), channels) for name in folders]
    return [DemoSet(name, reals, gen.one_hot([k] * len(reals))) for k, (name, reals) in enumerate(zip(folders, sets))]


def sample(gen, z, c=None, batch=50):
    with paddle.no_grad():
        return np.concatenate([gen([paddle.to_tensor(z[i:i + batch])], noise="const",
                                   **({} if c is None else {"c": c[i:i + batch]}))[0].numpy()
                               for i in range(0, len(z), batch)])


def measure(gen, sets, folder, when):
    """SWD of ``gen``'s samples (fixed z) against each set; writes ``samples_<when>[_<class>].png``. Returns
    ({set name: SWD}, [grid paths])."""
    values, grids = {}, []
    for demo_set in sets:
        z = np.random.RandomState(12345).standard_normal([len(demo_set.reals), gen.style_dim]).astype("float32")
        samples = sample(gen, z, demo_set.c)
        values[demo_set.name] = swd(demo_set.reals, samples)["mean"]
        suffix = f"_{demo_set.name}" if demo_set.name else ""
        grids.append(save_grid(samples[:64], os.path.join(folder, f"samples_{when}{suffix}.png"), nrow=8))
    return values, grids


def interpolate(gen, z_from, z_to, steps):
    """gen_ema walking in W from each row of ``z_from`` to the same row of ``z_to``: images
    ``[steps, N, C, H, W]`` (constant noise, so only the latent moves; conditional: the rows go round the
    classes)."""
    with paddle.no_grad():
        c = gen.cycled_labels(len(z_from))
        w_from, w_to = gen.get_latent(paddle.to_tensor(z_from), c), gen.get_latent(paddle.to_tensor(z_to), c)
        return np.stack([gen([w_from + t * (w_to - w_from)], input_is_latent=True, noise="const")[0].numpy()
                         for t in np.linspace(0.0, 1.0, steps)])


def save_interpolations(gen, folder, style_dim, seed=777, steps=8, cells=16, frames=24, zoom=3):
    """interpolation.png: 4 rows, each a walk between two latents in ``steps`` images; interpolation.gif (and
    interpolation.mp4 with the video extra): ``cells`` samples walking to other latents and back, a ``zoom``-times
    enlarged grid per frame."""
    rng = np.random.RandomState(seed)
    z = rng.standard_normal([2, max(4, cells), style_dim]).astype("float32")
    strip = interpolate(gen, z[0, :4], z[1, :4], steps)  # [steps, 4, ...]
    png = save_grid(strip.transpose(1, 0, 2, 3, 4).reshape((-1,) + strip.shape[2:]),
                    os.path.join(folder, "interpolation.png"), nrow=steps)
    walk = interpolate(gen, z[0, :cells], z[1, :cells], frames)
    tiles = [grid(frame).repeat(zoom, axis=0).repeat(zoom, axis=1) for frame in walk]
    tiles += tiles[-2:0:-1]  # there and back, looped
    gif = save_gif(tiles, os.path.join(folder, "interpolation.gif"))  # (what a README page shows inline)
    video = save_video(tiles, os.path.join(folder, "interpolation.mp4"), fps=12) if have_extra("imageio_ffmpeg") \
        else None
    return png, gif, video


def plot(history, swd_points, path):
    fig = Figure(figsize=(11, 4))  # no pyplot: no global backend or figure state
    ax1, ax2 = fig.subplots(1, 2)
    logs = [h for h in history if "losses" in h]
    for key in ("l_d", "l_g", "l_d_r1", "l_g_path"):
        pts = [(h["iter"], h["losses"][key]) for h in logs if key in h["losses"]]
        if pts:
            ax1.plot(*zip(*pts), label=key)
    ax1.set_xlabel("iteration")
    ax1.set_title("losses")
    ax1.legend()
    ax2.plot(*zip(*swd_points), "o-", color="C3")
    ax2.set_xlabel("iteration")
    ax2.set_yscale("log")  # the start is often far above the rest
    ax2.set_title("SWD x1e3 (gen_ema vs real, lower is better; log scale)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))


def describe_swd(values):
    """'169.3', or per class '0_faces 169.3, 1_other 150.2'."""
    return ", ".join(f"{name} {v:.1f}" if name else f"{v:.1f}" for name, v in values.items())


def report(summary, folder):
    """The demo's closing lines: speed, SWD, where the pictures and the checkpoint are."""
    print(f"\nDemo finished: {summary['iterations']} iterations in {summary['seconds'] / 60:.1f} min "
          f"({summary['iterations_per_second']} it/s, {summary['images_per_second']} img/s)")
    print(f"SWD x1e3 before {summary['swd_before']:.1f} -> after {summary['swd_after']:.1f} "
          f"(ratio {summary['swd_ratio']})")
    for name, row in summary.get("per_class", {}).items():
        print(f"  class {name}: SWD {row['swd_before']:.1f} -> {row['swd_after']:.1f} (ratio {row['swd_ratio']}), "
              f"samples {row['grid']}")
    print(f"samples:    {summary['grid']}\nbefore:     {os.path.join(folder, 'samples_before*.png')}")
    print(f"reals:      {os.path.join(folder, 'reals.png')}\nplot:       {summary['plot']}")
    walks = (summary["interpolation"], summary["animation"], summary["video"])
    print(f"walks:      {', '.join(path for path in walks if path)}")
    print(f"checkpoint: {summary['checkpoint']}")


def run_demo(config, data, out, iters=None, seed=0, name=None, overwrite=False, generator=None):
    """Train the demo config on the demo faces (prepared in ``data`` if missing); results in a run folder
    ``<out>/demo-<date-time>`` (or ``<out>/<name>``; ``core.runs``). Returns the summary dict (also written as
    summary.json). An encoder config (``configs/psp_*_demo.yaml``) is a pSp demo (``apps.psp_demo``) against
    ``generator`` (default: ``<out>/demo-latest``)."""
    first = load_config(config)
    data, channels = demo_data(data, first)
    if first.model.get("name") == "PSPModel":
        return run_psp_demo(config, data, out, iters, seed, name, overwrite, generator)
    if generator:
        raise UserError(f"--generator {generator}: only the pSp demos (configs/psp_*_demo.yaml) invert a generator")
    return run_gan_demo(config, data, channels, out, iters, seed, name, overwrite)


def run_gan_demo(config, data, channels, out, iters, seed, name, overwrite):
    """``run_demo`` of a generator config: trained, measured by SWD before and after, pictures."""
    overrides = [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}"]
    cfg = load_config(config, overrides)
    iters = quick.cap(iters or cfg.total_iters, "iters")  # PPGAN_STYLEGAN_QUICK=1: a few iterations
    cfg.total_iters = iters
    cfg.is_train, cfg.profiler_options = True, None
    cfg.output_dir = new_run_folder(out, "demo", name, overwrite, link=False)
    if use_device() == "cpu":  # 16-32 channel layers: one math thread beats two (core.runtime.use_math_threads)
        runtime.use_math_threads(1, "the demo's small networks run faster on one")
    print(runtime.describe(), flush=True)
    setup_logger(cfg.output_dir, name="ppgan")
    setup_logger(cfg.output_dir, name="ppgan_stylegan")

    seed_everything(seed)
    trainer = ResumableTrainer(cfg, seed=seed, progress=True)
    gen_ema = trainer.model.nets["gen_ema"]
    sets = demo_sets(data, gen_ema, channels)
    swd_before, _ = measure(gen_ema, sets, cfg.output_dir, "before")
    save_grid(np.concatenate([s.reals[:64 // len(sets)] for s in sets]), os.path.join(cfg.output_dir, "reals.png"),
              nrow=8)
    print(f"SWD before training: {describe_swd(swd_before)}", flush=True)

    start = time.time()
    trainer.train()
    seconds = time.time() - start

    swd_after, grids = measure(gen_ema, sets, cfg.output_dir, "after")
    before, after = float(np.mean(list(swd_before.values()))), float(np.mean(list(swd_after.values())))
    points = [(0, before)] + [(h["iter"], h["metrics"]["swd"]) for h in trainer.history
                              if "metrics" in h and "swd" in h["metrics"] and h["iter"] < trainer.total_iters]
    points.append((trainer.total_iters, after))
    plot_path = os.path.join(cfg.output_dir, "training.png")
    plot(trainer.history, points, plot_path)
    strip, gif, video = save_interpolations(gen_ema, cfg.output_dir, gen_ema.style_dim)
    summary = {"iterations": trainer.total_iters, "seconds": round(seconds, 1),
               "iterations_per_second": round(trainer.total_iters / seconds, 3),
               "images_per_second": round(trainer.total_iters * cfg.dataset.train.batch_size / seconds, 2),
               "swd_before": round(before, 2), "swd_after": round(after, 2), "swd_ratio": round(after / before, 3),
               "swd_definition": "ProGAN (independent patches)", "grid": grids[0], "plot": plot_path,
               "interpolation": strip, "animation": gif, "video": video,
               "checkpoint": trainer.checkpoint_path(trainer.total_iters)}
    if len(sets) > 1:  # conditional: each class's SWD and sample grid
        summary["per_class"] = {s.name: {"swd_before": round(swd_before[s.name], 2),
                                         "swd_after": round(swd_after[s.name], 2),
                                         "swd_ratio": round(swd_after[s.name] / swd_before[s.name], 3), "grid": g}
                                for s, g in zip(sets, grids)}
    write_json(summary, os.path.join(cfg.output_dir, "summary.json"), indent=2)
    report(summary, cfg.output_dir)
    point_latest(out, "demo", cfg.output_dir)  # <out>/demo-latest: the newest finished demo
    print(f"output: {cfg.output_dir}")
    return summary
