"""The pSp demos: an encoder config (``configs/psp_<task>_demo.yaml``) trained against the ``make demo``
generator on the demo faces, then scored on the faces it held out against the task's baseline.

Each run folder holds the training run (weights, history), ``held_out/`` (copies of the held-out faces, to
encode again by hand), one ``encode[_x<factor>]/`` folder per evaluation (the ``encode`` command's latents,
reconstructions, grid of inputs / outputs / targets and summary) and ``summary.json`` with one row per
evaluation: the outputs' mean MSE and the baseline's (super-resolution: bicubic upsampling of the same input,
per factor; other tasks: the ``latent_avg`` image).
"""
import os
import shutil
import time

from ppgan.utils.logger import setup_logger

from ..core import quick, runtime
from ..core.config import load_config
from ..core.errors import UserError
from ..core.files import write_json
from ..core.runs import new_run_folder, point_latest, resolve_weights
from ..data.datasets import PSPTaskDataset
from ..engine import ResumableTrainer, seed_everything
from .encode import ImageEncoder


def demo_generator(path, out):
    """The generator the encoder inverts: ``path``, else ``<out>/demo-latest`` (what ``make demo`` writes)."""
    path = path or os.path.join(out, "demo-latest")
    if not os.path.exists(path):
        raise UserError(f"--generator {path}: no such file or run folder; the pSp demos invert the demo generator: "
                        "run `make demo` (or `ppgan-stylegan demo`) first, or give --generator")
    return path


def held_out(cfg, data, folder):
    """Copies of the test split's images (``dataset.test.holdout``: the last N by name) in ``folder``."""
    test = cfg.dataset.test
    if test.get("split") != "test" or not test.get("holdout"):
        raise UserError("dataset.test: the pSp demos score held-out faces; expected split: test and holdout: N")
    if test.get("source_root"):
        raise UserError("dataset.test.source_root: the pSp demos make the task's inputs from the faces; paired "
                        "inputs are scored by `ppgan-stylegan encode --targets`")
    names = PSPTaskDataset(data, task=test.task, input_size=test.input_size, label_nc=test.get("label_nc", 0),
                           holdout=test.holdout, split="test", hflip=False, verify=False)
    os.makedirs(folder)
    for index in names.items:
        shutil.copy(names.paths[index], folder)
    return folder


def evaluations(cfg):
    """(folder name, resize factors) of each evaluation: super-resolution one per factor of the test split."""
    if cfg.model.get("task") == "superres":
        return [(f"encode_x{f}", (int(f),)) for f in cfg.dataset.test.get("resize_factors", [4, 8])]
    return [("encode", None)]


def score(run, faces, evaluation):
    """One evaluation of the trained encoder (the ``encode`` command's code) on the held-out faces: its row."""
    folder, factors = evaluation
    app = ImageEncoder(resolve_weights(run), output_dir=os.path.join(run, folder), resize_factors=factors)
    from_photos = app.inputs.task.inputs != "photo"  # sketches drawn from the faces as in training
    report, files = app.encode_folder(faces, from_photos=from_photos)
    row = {"task": report["task"], "images": report["count"], "mse": round(report["mean_mse"], 4),
           "baseline": report["baseline"], "mse_baseline": round(report["mean_mse_baseline"], 4),
           "grid": files[0]}
    if factors:
        row["factor"] = factors[0]
    row["beats_baseline"] = row["mse"] < row["mse_baseline"]
    return row


def report(summary):
    print(f"\npSp demo finished: {summary['iterations']} iterations in {summary['seconds'] / 60:.1f} min")
    for row in summary["evaluations"]:
        what = row["task"] + (f" x{row['factor']}" if "factor" in row else "")
        verdict = "better" if row["beats_baseline"] else "not better"
        print(f"  {what}: held-out MSE {row['mse']:.4f}, {row['baseline']} {row['mse_baseline']:.4f} ({verdict}); "
              f"grid {row['grid']}")


def run_psp_demo(config, data, out, iters=None, seed=0, name=None, overwrite=False, generator=None):
    """Train the pSp demo ``config`` against the demo generator on the demo faces in ``data`` (the ``demo``
    command prepares them), score the held-out faces; results in ``<out>/<config name>-<date-time>`` (or
    ``<out>/<name>``). Returns the summary (also written as summary.json)."""
    prefix = os.path.splitext(os.path.basename(config))[0]
    overrides = [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
                 f"model.generator_weights={demo_generator(generator, out)}"]
    cfg = load_config(config, overrides)
    cfg.total_iters = quick.cap(iters or cfg.total_iters, "iters")
    cfg.is_train, cfg.profiler_options = True, None
    cfg.output_dir = new_run_folder(out, prefix, name, overwrite, link=False)
    faces = held_out(cfg, data, os.path.join(cfg.output_dir, "held_out"))
    print(runtime.describe(), flush=True)
    setup_logger(cfg.output_dir, name="ppgan")
    setup_logger(cfg.output_dir, name="ppgan_stylegan")
    seed_everything(seed)
    trainer = ResumableTrainer(cfg, seed=seed, progress=True)
    start = time.time()
    trainer.train()
    seconds = time.time() - start
    summary = {"config": config, "generator": cfg.model.generator_weights, "iterations": trainer.total_iters,
               "seconds": round(seconds, 1), "held_out": faces,
               "evaluations": [score(cfg.output_dir, faces, e) for e in evaluations(cfg)]}
    write_json(summary, os.path.join(cfg.output_dir, "summary.json"), indent=2)
    report(summary)
    point_latest(out, prefix, cfg.output_dir)
    print(f"output: {cfg.output_dir}")
    return summary
