"""Training (and evaluation) from a PaddleGAN-schema YAML config: the run folder, checks before any work,
the resumable trainer, and what a run reports when it ends."""
import logging
import os
import sys

import paddle
from ppgan.utils.logger import setup_logger

from ..core.checks import check_size
from ..core.config import load_config, validate_config
from ..core.device import use_device
from ..core.distributed import gather_strings
from ..core import quick, runtime
from ..core.errors import NonFiniteLossError, RankLostError, UserError
from ..core.extras import require_extra
from ..core.runs import free_name, point_latest, resolve_weights, writable_folder
from ..core.versions import __version__
from ..engine import ResumableTrainer, seed_everything
from ..models.progressive import ProgressiveSchedule
from ..networks.families import family_of_class

EXIT_NONFINITE = 3
EXIT_RANK_LOST = 5  # another rank of a multi-process run went away


def run_folder(cfg, config_file, resume=None):
    """A resumed run continues in its checkpoint's folder; a new one gets ``<output_dir>/<config>-<time>``
    (rank 0's name: one folder for all ranks; ``core.runs``)."""
    if resume:
        return os.path.dirname(os.path.realpath(resume))  # (through a *-latest link: the run folder itself)
    root = cfg.get("output_dir", "output")
    return os.path.join(root, gather_strings(free_name(root, config_name(config_file)))[0])


def config_name(config_file):
    return os.path.splitext(os.path.basename(config_file))[0]


def fixed_image_size(cfg):
    """StyleGANModel trains on images of the generator's size and channels: the image folder checks them up front
    (``model_channels``: the generator's channels and the config key they come from)."""
    gen = (cfg.model.get("generator") or {})
    family = family_of_class(gen.get("name"))
    for split in ("train", "test"):
        block = (cfg.get("dataset") or {}).get(split)
        if cfg.model.get("name") != "StyleGANModel" or not block or block.get("name") != "StyleGANImageFolder":
            continue
        if "size" in gen:
            block.setdefault("size", gen["size"])
        if family is not None:
            key = family.generator.channels_key
            block["model_channels"] = [gen.get(key, 3), f"model.generator.{key}"]


def check_progressive_batch(cfg):
    """Progressive growing takes each minibatch from the loader's batch: the largest must fit, checked up front."""
    block, gen = cfg.model.get("progressive"), cfg.model.get("generator") or {}
    train_set = (cfg.get("dataset") or {}).get("train") or {}
    if not isinstance(block, dict) or "size" not in gen or "batch_size" not in train_set:
        return
    ranks = paddle.distributed.get_world_size()
    largest = ProgressiveSchedule.from_config(dict(block)).max_minibatch(check_size(gen["size"]), ranks)
    if largest > train_set["batch_size"] * ranks:
        raise UserError(f"dataset.train.batch_size: {train_set['batch_size']} per rank x {ranks} rank(s) is smaller "
                        f"than the largest minibatch of model.progressive ({largest})")


def train(config_file, overrides=(), resume=None, load=None, evaluate_only=False, seed=0, device=None,
          check_replicas=0):
    """Validate the config, prepare the run folder, then train (or evaluate). Returns the exit code."""
    cfg = validate_config(load_config(config_file, overrides))
    if cfg.get("enable_visualdl"):  # ppgan's Trainer imports it: one line here instead of its traceback
        require_extra("visualdl", "enable_visualdl: true", "visualdl")
    if quick.enabled() and "total_iters" in cfg:  # PPGAN_STYLEGAN_QUICK=1 (core.quick): a few iterations
        cfg.total_iters = quick.cap(cfg.total_iters, "iters")
    fixed_image_size(cfg)
    check_progressive_batch(cfg)
    cfg.is_train = not evaluate_only
    cfg.profiler_options = None
    resume = resolve_weights(resume, "--resume", kinds=("checkpoint",))
    load = resolve_weights(load, "--load")
    for option, path in [("--resume", resume), ("--load", load)]:
        if path and not os.path.isfile(path):
            raise UserError(f"{option} {path}: no such file")
    device = use_device(device)
    if paddle.distributed.get_world_size() > 1:  # launched with several ranks: collectives from here on
        paddle.distributed.init_parallel_env()
    cfg.output_dir = run_folder(cfg, config_file, resume)
    writable_folder(cfg.output_dir, "output_dir")
    if paddle.distributed.get_rank() == 0:  # <output_dir>/<config>-latest: the newest run (--resume takes it)
        point_latest(os.path.dirname(cfg.output_dir), config_name(config_file), cfg.output_dir)
    logging.raiseExceptions = False  # a log line that cannot be written (full disk) is dropped, not a traceback
    logger = setup_logger(cfg.output_dir, name="ppgan")
    setup_logger(cfg.output_dir, name="ppgan_stylegan")
    logger.info(f"ppgan-stylegan {__version__}, paddle {paddle.__version__}, device {device}, "
                f"output {cfg.output_dir}")
    logger.info(runtime.describe())
    seed_everything(seed)  # every rank builds the same initial weights (rank 0's are broadcast anyway)
    trainer = ResumableTrainer(cfg, seed=seed, replica_interval=check_replicas)
    if resume:
        trainer.resume(resume)
    elif load:
        trainer.load(load)
    if evaluate_only:
        trainer.test()
    else:
        try:
            trainer.train()
        except (NonFiniteLossError, RankLostError) as e:
            logger.error(str(e))
            print(f"error: {e}", file=sys.stderr)
            return EXIT_NONFINITE if isinstance(e, NonFiniteLossError) else EXIT_RANK_LOST
        if trainer.stopped_by:
            written = trainer.checkpoint_path(trainer.current_iter)
            print(f"stopped by {trainer.stopped_by} after iteration {trainer.current_iter}; checkpoint: "
                  + (written if os.path.isfile(written) else "none written (no iteration of this run completed)"))
    print(f"output: {cfg.output_dir}")
    return 0
