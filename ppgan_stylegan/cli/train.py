"""Train or evaluate a model from a PaddleGAN-schema YAML config (our registered classes included).

    ppgan-stylegan train -c configs/stylegan_v2_demo.yaml            (or: python tools/main.py -c ...)
    ppgan-stylegan train -c configs/stylegan_v2_demo.yaml -o total_iters=200 dataset.train.batch_size=8
    ppgan-stylegan train -c configs/stylegan_v2_demo.yaml --resume output/stylegan_v2_demo-latest
    python -m paddle.distributed.launch --gpus 0,1,2,3 tools/main.py -c configs/stylegan_v2_256.yaml
    python -m paddle.distributed.launch --nproc_per_node 2 tools/main.py -c configs/stylegan_v2_demo.yaml --device cpu
"""
from ..core.checks import arg_int, arg_seed
from ..apps.train import train

HELP = "train / evaluate from a YAML config (tools/main.py)"


def add_arguments(p):
    p.add_argument("-c", "--config-file", required=True, help="YAML config")
    p.add_argument("-o", "--opt", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                   help="override config entries, e.g. total_iters=100 model.r1_gamma=5 (repeatable)")
    p.add_argument("--resume", help="training checkpoint (iter_N_checkpoint.pdparams) to continue from")
    p.add_argument("--load", help="weights (iter_N_weight.pdparams or a checkpoint) to initialise the nets from")
    p.add_argument("--evaluate-only", action="store_true", help="run validation only")
    p.add_argument("--seed", type=arg_seed, default=0, help="base seed; each iteration reseeds from (seed, iteration)")
    p.add_argument("--device", default=None, help="cpu or gpu (default: gpu when Paddle has CUDA)")
    p.add_argument("--check-replicas", type=arg_int(0), default=0, metavar="N",
                   help="with several ranks: every N iterations check that all ranks hold identical weights")


def run(args):
    overrides = [option for group in args.opt for option in group]
    return train(args.config_file, overrides, args.resume, args.load, args.evaluate_only, args.seed, args.device,
                 args.check_replicas)
