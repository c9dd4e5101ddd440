#!/usr/bin/env python
"""The embedded demo: train StyleGAN2 on 100 LFW faces (32x32, bundled with scikit-image) on the CPU.

    python tools/demo.py                 # what `make demo` runs
    python tools/demo.py --iters 200     # shorter

Prepares data/demo if missing, measures SWD of gen_ema against the real faces before and after
training, and writes sample grids (PNG), a loss / SWD plot (PNG) and summary.json.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import ppgan_stylegan  # noqa: E402,F401
import numpy as np  # noqa: E402
import paddle  # noqa: E402
from ppgan.utils.logger import setup_logger  # noqa: E402

from ppgan_stylegan.config import load_config  # noqa: E402
from ppgan_stylegan.datasets import list_images, load_rgb, to_tensor_range  # noqa: E402
from ppgan_stylegan.engine import StyleGANTrainer, seed_everything  # noqa: E402
from ppgan_stylegan.metrics import swd  # noqa: E402
from ppgan_stylegan.visual import save_grid  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tools"))
from prepare_dataset import DEMO_FACES, prepare_demo  # noqa: E402


def load_reals(folder):
    return np.stack([to_tensor_range(load_rgb(p)) for p in list_images(folder)])


def sample(gen, z, batch=50):
    with paddle.no_grad():
        return np.concatenate([gen([paddle.to_tensor(z[i:i + batch])], noise="const")[0].numpy()
                               for i in range(0, len(z), batch)])


def plot(history, swd_points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
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
    ax2.set_title("SWD x1e3 (gen_ema vs real, lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.path.join(ROOT, "configs", "stylegan_v2_demo.yaml"))
    p.add_argument("--iters", type=int, default=None, help="training iterations (default: the config's)")
    p.add_argument("--data", default=os.path.join(ROOT, "data", "demo"))
    p.add_argument("--out", default=os.path.join(ROOT, "output", "demo"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    have = len(list_images(args.data)) if os.path.isdir(args.data) else 0
    if have < DEMO_FACES:
        prepare_demo(args.data)
    overrides = [f"dataset.train.dataroot={args.data}", f"dataset.test.dataroot={args.data}"]
    if args.iters:
        overrides.append(f"total_iters={args.iters}")
    cfg = load_config(args.config, overrides)
    cfg.is_train, cfg.profiler_options = True, None
    cfg.output_dir = os.path.join(args.out, time.strftime("%Y-%m-%d-%H-%M-%S"))
    paddle.set_device("gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() else "cpu")
    setup_logger(cfg.output_dir, name="ppgan")
    setup_logger(cfg.output_dir, name="ppgan_stylegan")

    seed_everything(args.seed)
    trainer = StyleGANTrainer(cfg, seed=args.seed)
    gen_ema = trainer.model.nets["gen_ema"]
    reals = load_reals(args.data)
    z = np.random.RandomState(12345).standard_normal([len(reals), gen_ema.style_dim]).astype("float32")

    before = sample(gen_ema, z)
    swd_before = swd(reals, before)["mean"]
    save_grid(before[:64], os.path.join(cfg.output_dir, "samples_before.png"), nrow=8)
    save_grid(reals[:64], os.path.join(cfg.output_dir, "reals.png"), nrow=8)
    print(f"SWD before training: {swd_before:.1f}", flush=True)

    start = time.time()
    trainer.train()
    seconds = time.time() - start

    after = sample(gen_ema, z)
    swd_after = swd(reals, after)["mean"]
    final_grid = save_grid(after[:64], os.path.join(cfg.output_dir, "samples_after.png"), nrow=8)
    points = [(0, swd_before)] + [(h["iter"], h["metrics"]["swd"]) for h in trainer.history
                                  if "metrics" in h and "swd" in h["metrics"] and h["iter"] < trainer.total_iters]
    points.append((trainer.total_iters, swd_after))
    plot_path = os.path.join(cfg.output_dir, "training.png")
    plot(trainer.history, points, plot_path)
    summary = {"iterations": trainer.total_iters, "seconds": round(seconds, 1),
               "iterations_per_second": round(trainer.total_iters / seconds, 3),
               "images_per_second": round(trainer.total_iters * cfg.dataset.train.batch_size / seconds, 2),
               "swd_before": round(swd_before, 2), "swd_after": round(swd_after, 2),
               "swd_ratio": round(swd_after / swd_before, 3), "grid": final_grid, "plot": plot_path,
               "checkpoint": trainer.checkpoint_path(trainer.total_iters)}
    with open(os.path.join(cfg.output_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nDemo finished: {summary['iterations']} iterations in {seconds / 60:.1f} min "
          f"({summary['iterations_per_second']} it/s, {summary['images_per_second']} img/s)")
    print(f"SWD x1e3 before {swd_before:.1f} -> after {swd_after:.1f} (ratio {summary['swd_ratio']})")
    print(f"samples:    {final_grid}\nbefore:     {os.path.join(cfg.output_dir, 'samples_before.png')}")
    print(f"reals:      {os.path.join(cfg.output_dir, 'reals.png')}\nplot:       {plot_path}")
    print(f"checkpoint: {summary['checkpoint']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
