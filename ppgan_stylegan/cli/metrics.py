"""Quality metrics of a generator against a folder of real images: FID, KID, PPL, SWD (JSON + one line each).

    ppgan-stylegan metrics --weights output/demo-latest --real data/demo --num 100
    ppgan-stylegan metrics --weights w.pdparams --real data/ffhq256 --metrics fid,kid --num 50000 \\
        --inception-weights InceptionV3.pdparams --cache data/ffhq256_inception.npz

By default it computes what needs no downloaded weights: SWD (with --real) and PPL (with the pixel-MSE stand-in
unless --lpips-weights is given), plus FID and KID when --inception-weights is given, and says what it skipped.
FID / KID use ppgan's InceptionV3 with --inception-weights (nothing is downloaded); --cache keeps the real
set's features. PPL with the pixel MSE is not comparable to published PPL. A class-conditional generator: --class K
for one class, else classes drawn from --real's labels, and --per-class for each class against its own reals.

    ppgan-stylegan metrics --weights output/demo-latest --real data/demo-32x32-rgb-classes --real-labels folders \
        --per-class --num 100
"""
from ..apps.metrics import KNOWN, MetricsRunner, default_metrics
from ..core import quick
from ..core.checks import arg_float, arg_int
from .common import add_class, add_generator_args, predictor_args

HELP = "FID, KID, PPL, SWD of a generator (tools/metrics.py)"


def add_arguments(p):
    add_generator_args(p)
    p.add_argument("--real", help="folder of real images (FID, KID, SWD)")
    p.add_argument("--metrics", default=None,
                   help=f"comma-separated, of {', '.join(KNOWN)} (default: those the given files allow, see above)")
    p.add_argument("--num", type=arg_int(1), default=10000, help="generated images (and at most this many reals)")
    p.add_argument("--trunc", type=arg_float(), default=1.0, help="truncation psi of the generated images")
    p.add_argument("--inception-weights", help="ppgan's InceptionV3.pdparams (FID / KID)")
    p.add_argument("--dims", type=arg_int(1), default=2048, help="Inception feature layer: 64, 192, 768 or 2048")
    p.add_argument("--input-size", type=arg_int(8), default=299, help="Inception input resolution")
    p.add_argument("--cache", help=".npz for the real set's Inception features")
    p.add_argument("--lpips-weights", help="LPIPS folder for PPL (else pixel MSE)")
    p.add_argument("--ppl-num", type=arg_int(1), default=1000, help="latent pairs for PPL")
    add_class(p)
    p.add_argument("--per-class", action="store_true",
                   help="class-conditional: also each class against its own reals (<metric>_class<K>)")
    p.add_argument("--real-labels", choices=["auto", "folders"], default="auto",
                   help="where --real's classes come from: its dataset.json (auto) or its sub-folders")


def run(args):
    if args.metrics:
        wanted = [m.strip() for m in args.metrics.split(",") if m.strip()]
    else:
        wanted, skipped = default_metrics(args.real, args.inception_weights)
        for name, why in skipped.items():
            print(f"skipped {name}: {why}")
    app = MetricsRunner(**predictor_args(args))
    results = app.run(wanted, real=args.real, num=quick.cap(args.num, "images"), psi=args.trunc,
                      inception_weights=args.inception_weights, dims=args.dims, input_size=args.input_size,
                      cache=args.cache, lpips_weights=args.lpips_weights, ppl_num=quick.cap(args.ppl_num, "images"),
                      per_class=args.per_class, real_labels=args.real_labels)
    for name, value in results.items():
        print(f"{name}: {value:.4f}")
    print(f"output: {app.output_dir}")
    return 0
