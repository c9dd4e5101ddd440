"""Peak memory of one full training iteration (D main, R1, G main, path length) at real sizes, ours and ppgan's.

    python -m ppgan_stylegan.bench.memory --sizes 256,512,1024 --out memory.json

Each row runs in a fresh process (peak RSS is a process-wide high-water mark): config-f networks (channel
multiplier 2, style 512, 8 mapping layers), batch 4, random weights and reals, the iteration through each model's
``train_iter`` with both regularisers due; ours also with ``batch_gpu: 1`` (micro-batches of one image). ppgan's
path-length step needs ``conv2d_transpose``'s double gradient, which Paddle's CPU build lacks: its row records
the error and the peak reached before it. RSS counts weights, optimizer state and Paddle's allocator cache, so
the table also gives the weights-and-optimizer baseline (RSS after the build) and the activation bytes per image
computed from the layers' output shapes.
"""
import argparse
import json
import resource
import subprocess
import sys

import paddle

from ..core.files import write_json
from ..networks.blocks import channel_table
from . import cases

CONFIG_F = dict(cm=2, style_dim=512, n_mlp=8)


def rss_mib():
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20


def activation_bytes_per_image(size, cm=2):
    """{resolution: float32 bytes of the conv-layer outputs of one image at that resolution in G and D}: the
    tensors a backward pass keeps (each layer's output; Paddle keeps a few more per layer, so real use is higher)."""
    channels = channel_table(size, cm)
    rows = {}
    for res, c in channels.items():
        g_maps = (1 if res == 4 else 2) * c + 3  # G: the conv(s) of this resolution, its RGB image
        d_maps = 3 * c if res > 4 else 2 * c  # D: conv1, conv2 and skip of the residual block (4 px: epilogue)
        rows[res] = 4 * res * res * (g_maps + d_maps)
    return rows


def _row(impl, size, batch, batch_gpu):
    """One iteration in this process; the peak RSS and the RSS after building."""
    c = dict(CONFIG_F, size=size, batch=batch)
    paddle.seed(0)
    model = cases.ppgan_model(c, gen_iters=4) if impl == "ppgan" else cases.our_model(c, 2.0, batch_gpu)
    optimizers = cases.adam_optimizers(model)
    model.setup_input({"A": paddle.randn([batch, 3, size, size])})
    run = cases.ppgan_iteration(model, optimizers) if impl == "ppgan" else \
        (lambda r1: cases.our_iteration({"m": model}, {"m": optimizers})("m", r1))
    built = current_rss_mib()
    error = None
    try:
        run(True)
    except Exception as e:  # ppgan on a CPU: no conv2d_transpose double gradient
        lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [type(e).__name__]
        error = next((line for line in lines if "not registered" in line), lines[-1])[:200]
    return {"impl": impl, "size": size, "batch": batch, "batch_gpu": batch_gpu, "built_mib": round(built),
            "peak_mib": round(rss_mib()), "error": error}


def _died(done):
    """Why a row's process ended without a result: the kernel's out-of-memory kill, or its last line."""
    if done.returncode == -9:
        return "killed (SIGKILL: out of memory, more than this machine's RAM)"
    last = done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else ""
    return f"exit {done.returncode}: {last}"


def measure(sizes, rows=(("ours", 4, None), ("ours", 4, 1), ("ppgan", 4, None))):
    """Every row in a fresh process; returns the rows (a process that dies is recorded with its exit code)."""
    out = []
    for size in sizes:
        for impl, batch, batch_gpu in rows:
            args = [sys.executable, "-m", "ppgan_stylegan.bench.memory", "--row", f"{impl},{size},{batch},{batch_gpu or 0}"]
            done = subprocess.run(args, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("ROW ")]
            row = json.loads(lines[-1][4:]) if lines else {
                "impl": impl, "size": size, "batch": batch, "batch_gpu": batch_gpu, "error": _died(done)}
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="256,512,1024")
    p.add_argument("--out", default=None, help="JSON file for the rows")
    p.add_argument("--row", default=None, help=argparse.SUPPRESS)  # impl,size,batch,batch_gpu: one row, here
    args = p.parse_args(argv)
    if args.row:
        impl, size, batch, batch_gpu = args.row.split(",")
        print("ROW " + json.dumps(_row(impl, int(size), int(batch), int(batch_gpu) or None)), flush=True)
        return 0
    rows = measure([int(s) for s in args.sizes.split(",")])
    result = {"rows": rows, "activations": {s: activation_bytes_per_image(int(s))
                                            for s in args.sizes.split(",")}}
    if args.out:
        write_json(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
