"""Speed of ppgan 2.1.0's StyleGAN2 vs ours, side by side in ONE process, with the same weights.

    ppgan-stylegan benchmark --out output/benchmark.json                 # CPU cases (or tools/benchmark.py)
    ppgan-stylegan benchmark --cases cpu32 --repeat 5 --out bench.json
    ppgan-stylegan benchmark --cases gpu256,gpu1024,gpu1024amp --out bench_gpu.json   # needs a GPU
    ppgan-stylegan benchmark --cases cpu-demo --base 24b1dcb --repeat 5 --out demo_speed.json  # two commits' demo
"""
import argparse
import sys

from ..core.checks import arg_int
from ..core.runs import output_file
from ..bench import CASES, demo_speed, run_benchmark, run_worker

HELP = "ppgan vs ours, side by side (tools/benchmark.py)"


def add_arguments(p):
    p.add_argument("--cases", default="cpu32,cpu64", help=f"comma list of {','.join(CASES)}, or cpu-demo (alone: "
                   "one demo iteration of --base's code against this tree's, bench/demo_speed.py)")
    p.add_argument("--base", default="24b1dcb", help="cpu-demo: the commit compared with")
    p.add_argument("--repeat", type=arg_int(1), default=3, help="timed runs per measurement (the median is reported)")
    p.add_argument("--warmup", type=arg_int(0), default=1, help="untimed runs before them")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--markdown", help="also write the table with device, Paddle version, date and command here")
    p.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)  # one settings' run, in its own process


def run(args):
    output_file(args.out, "--out")
    if args.markdown:
        output_file(args.markdown, "--markdown")
    if args.cases == "cpu-demo":
        return demo_speed.main(["--base", args.base, "--rounds", str(args.repeat), "--out", args.out])
    if args.worker:
        run_worker(args.cases.split(","), args.warmup, args.repeat, args.worker)
        return 0
    argv = sys.argv[1:]
    if argv[:1] == ["benchmark"]:  # `ppgan-stylegan benchmark ...`: the same as the script
        argv = argv[1:]
    run_benchmark(args.cases.split(","), args.warmup, args.repeat, args.out, args.markdown,
                  command="python tools/benchmark.py " + " ".join(argv))
    return 0
