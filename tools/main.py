#!/usr/bin/env python
"""Train / evaluate a model from a PaddleGAN-schema YAML config (our registered classes included).

    python tools/main.py -c configs/stylegan_v2_demo.yaml
    python tools/main.py -c configs/stylegan_v2_demo.yaml -o total_iters=200 dataset.train.batch_size=8
    python tools/main.py -c configs/stylegan_v2_demo.yaml --resume output_dir/<run>/iter_100_checkpoint.pdparams
    python -m paddle.distributed.launch --gpus 0,1,2,3 tools/main.py -c configs/stylegan_v2_256.yaml
    python -m paddle.distributed.launch --nproc_per_node 2 tools/main.py -c configs/stylegan_v2_demo.yaml --device cpu
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ppgan_stylegan  # noqa: E402  (compat shim + registration before ppgan is used)
import paddle  # noqa: E402
from ppgan.utils.logger import setup_logger  # noqa: E402

from ppgan_stylegan.config import load_config, validate_config  # noqa: E402
from ppgan_stylegan.distributed import gather_strings  # noqa: E402
from ppgan_stylegan.engine import StyleGANTrainer, seed_everything  # noqa: E402
from ppgan_stylegan.models.guard import NonFiniteLossError  # noqa: E402
from ppgan_stylegan.weights import UserError  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-c", "--config-file", required=True, help="YAML config")
    p.add_argument("-o", "--opt", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                   help="override config entries, e.g. total_iters=100 model.r1_gamma=5 (repeatable)")
    p.add_argument("--resume", help="training checkpoint (iter_N_checkpoint.pdparams) to continue from")
    p.add_argument("--load", help="weights (iter_N_weight.pdparams or a checkpoint) to initialise the nets from")
    p.add_argument("--evaluate-only", action="store_true", help="run validation only")
    p.add_argument("--seed", type=int, default=0, help="base seed; each iteration reseeds from (seed, iteration)")
    p.add_argument("--device", default=None, help="cpu or gpu (default: gpu when Paddle has CUDA)")
    p.add_argument("--check-replicas", type=int, default=0, metavar="N",
                   help="with several ranks: every N iterations check that all ranks hold identical weights")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return p.parse_args(argv)


def output_dir_for(cfg, args):
    if args.resume:
        return os.path.dirname(os.path.abspath(args.resume))
    name = os.path.splitext(os.path.basename(args.config_file))[0]
    stamp = gather_strings(time.strftime("-%Y-%m-%d-%H-%M-%S"))[0]  # rank 0's: one run folder for all ranks
    return os.path.join(cfg.get("output_dir", "output_dir"), name + stamp)


def fixed_image_size(cfg):
    """StyleGANModel trains on images of the generator's size: the image folder checks them up front."""
    gen = (cfg.model.get("generator") or {})
    for split in ("train", "test"):
        block = (cfg.get("dataset") or {}).get(split)
        if cfg.model.get("name") == "StyleGANModel" and block and block.get("name") == "StyleGANImageFolder" \
                and "size" in gen:
            block.setdefault("size", gen["size"])


def check_writable(folder):
    """Create ``folder`` and write a probe file in it, or fail with one line before any work."""
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".write-test-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise UserError(f"output_dir {folder!r}: not writable ({e.strerror})")


def main(argv=None):
    args = parse_args(argv)
    args.opt = [option for group in args.opt for option in group]
    cfg = validate_config(load_config(args.config_file, args.opt))
    fixed_image_size(cfg)
    cfg.is_train = not args.evaluate_only
    cfg.profiler_options = None
    for option, path in [("--resume", args.resume), ("--load", args.load)]:
        if path and not os.path.isfile(path):
            raise UserError(f"{option} {path}: no such file")
    device = args.device or ("gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() else "cpu")
    paddle.set_device(device)
    if paddle.distributed.get_world_size() > 1:  # launched with several ranks: collectives from here on
        paddle.distributed.init_parallel_env()
    cfg.output_dir = output_dir_for(cfg, args)
    check_writable(cfg.output_dir)
    logger = setup_logger(cfg.output_dir, name="ppgan")
    setup_logger(cfg.output_dir, name="ppgan_stylegan")
    logger.info(f"ppgan-stylegan {ppgan_stylegan.__version__}, paddle {paddle.__version__}, device {device}, "
                f"output {cfg.output_dir}")
    seed_everything(args.seed)  # every rank builds the same initial weights (rank 0's are broadcast anyway)
    trainer = StyleGANTrainer(cfg, seed=args.seed, replica_interval=args.check_replicas)
    if args.resume:
        trainer.resume(args.resume)
    elif args.load:
        trainer.load(args.load)
    if args.evaluate_only:
        trainer.test()
    else:
        try:
            trainer.train()
        except NonFiniteLossError as e:
            logger.error(str(e))
            print(f"error: {e}", file=sys.stderr)
            return 3
        if trainer.stopped_by:
            print(f"stopped by {trainer.stopped_by} after iteration {trainer.current_iter}; checkpoint: "
                  f"{trainer.checkpoint_path(trainer.current_iter)}")
    print(f"output: {cfg.output_dir}")
    return 0


if __name__ == "__main__":
    from ppgan_stylegan.apps.base import run_cli
    # configuration problems (bad values, unknown -o paths, missing files) are reported in one line
    sys.exit(run_cli(main, user_errors=(UserError, ValueError, KeyError, FileNotFoundError)))
