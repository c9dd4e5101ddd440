"""Arguments every application shares (weights, config, device, outdir, debug)."""
import argparse


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--weights", required=True,
                   help="checkpoint / weight file (gen_ema used when present) or a PaddleGAN generator .pdparams")
    p.add_argument("--config", help="YAML whose model.generator describes the network (default: from the weights)")
    p.add_argument("--device", help="cpu or gpu (default: gpu when available)")
    p.add_argument("--outdir", default="output/app", help="output folder")
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    return p


def add_truncation(p):
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (1 = none), towards the tracked w_avg")
    p.add_argument("--trunc-cutoff", type=int, default=None, help="truncate only W+ layers < k (default: all)")
    p.add_argument("--noise-mode", choices=["random", "const", "none"], default="const", help="per-layer noise")


def common(args):
    return dict(weights=args.weights, config=args.config, device=args.device, output_dir=args.outdir)
