"""Check the machine you train on: platform, shared memory, float16, double gradients, host reads, speed.

    ppgan-stylegan doctor                          # prints the table, writes doctor.json
    ppgan-stylegan doctor --out my_gpu.json --timing-size 256 --batch 8

Run it first on a new GPU machine (an AI Studio GPU) and share the JSON: it is how GPU claims get measured.
"""
from ..bench.doctor import run_checks, table
from ..core.checks import arg_int
from ..core.files import write_json
from ..core.runs import output_file

HELP = "what this machine can do for training (a table and a JSON to share)"


def add_arguments(p):
    p.add_argument("--out", default="doctor.json", help="JSON file to write")
    p.add_argument("--timing-size", type=arg_int(8), default=None,
                   help="resolution of the timed config-f run (default: 256 on a GPU, 32 on a CPU)")
    p.add_argument("--batch", type=arg_int(1), default=4, help="batch of the timed run and of the loader estimate")
    p.add_argument("--iterations", type=arg_int(1), default=None, help="timed iterations (default: 10 GPU, 2 CPU)")
    p.add_argument("--workers", type=arg_int(0), default=4, help="data-loader workers for the shared-memory estimate")
    p.add_argument("--skip-timing", action="store_true", help="skip the timed run")


def run(args):
    output_file(args.out, "--out")  # (before the checks run)
    results = run_checks(args.timing_size, args.batch, args.iterations, not args.skip_timing, args.workers)
    print(table(results))
    write_json({"checks": results}, args.out)
    print(f"written: {args.out}")
    return 1 if any(r["status"] == "failed" for r in results) else 0
