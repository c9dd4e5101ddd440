"""Arguments the generator tools share (weights, config, device, outdir) and the truncation flags."""


def add_generator_args(p, weights_help="checkpoint / weight file (gen_ema used when present) or a PaddleGAN "
                                       "generator .pdparams", outdir="output/app"):
    p.add_argument("--weights", required=True, help=weights_help)
    p.add_argument("--config", help="YAML whose model.generator describes the network (default: from the weights)")
    p.add_argument("--device", help="cpu or gpu (default: gpu when available)")
    if outdir is not None:
        p.add_argument("--outdir", default=outdir, help="output folder")


def add_truncation(p):
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (1 = none), towards the tracked w_avg")
    p.add_argument("--trunc-cutoff", type=int, default=None, help="truncate only W+ layers < k (default: all)")
    p.add_argument("--noise-mode", choices=["random", "const", "none"], default="const", help="per-layer noise")


def predictor_args(args):
    """Keyword arguments of a GeneratorPredictor from the shared flags."""
    return dict(weights=args.weights, config=args.config, device=args.device, output_dir=args.outdir)
