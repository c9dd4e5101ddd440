"""Running the benchmark: every case under both settings (a worker process each), merging the workers' rows,
the markdown table and the JSON record."""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import paddle

from ..core import runtime
from ..core.errors import UserError
from ..core.files import write_json
from .cases import CASES, OP_COUNTS, run_case
from .floors import FLOORS
from .timing import sgemm_gflops


SETTINGS = ("installed", "ours")  # Paddle's defaults / the CPU runtime our command lines set up


def worker_env(setting):
    """The environment of a worker: without the runtime variables, and with our set-up off for ``installed``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_DEBUG_CPU_TYPE", runtime.OURS, runtime.OPT_OUT)}
    if setting == "installed":
        env[runtime.OPT_OUT] = "0"
    return env


def run_worker(cases, warmup, repeat, out):
    """In a worker process: every case under this process's settings, plus sgemm and the runtime line."""
    rows = []
    for name in cases:
        rows += run_case(name, CASES[name], warmup, repeat)
    write_json({"rows": rows, "sgemm_gflops": sgemm_gflops(), "runtime": runtime.describe(),
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}, out, default=str)


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {runtime.usable_cores()} usable core(s), Paddle {paddle.__version__}"


def merge(results):
    """{setting: worker JSON} -> one row per (case, op) with both implementations under both settings."""
    merged = {}
    for setting, result in results.items():
        for r in result["rows"]:
            row = merged.setdefault((r["case"], r["op"]), {"case": r["case"], "op": r["op"], "gflop": r["gflop"],
                                                           "device": r["device"]})
            row[f"ppgan_{setting}_s"], row[f"ours_{setting}_s"] = r["ppgan_s"], r["ours_s"]
            for impl in ("ppgan", "ours"):  # the same code whatever the settings: any worker's count
                if r.get(f"{impl}_ops") is not None:
                    row[f"{impl}_ops"] = r[f"{impl}_ops"]
    return list(merged.values())


def _div(a, b):
    return a / b if isinstance(a, float) and isinstance(b, float) and b > 0 else None


def table(rows, results):
    head = ("| case | op | ppgan as installed (s) | ours, our CLI (s) | speed-up | ppgan, same settings (s) | "
            "speed-up, same settings | ours GFLOP/s |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]

    def f(v):
        return f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))

    def x(v):
        return f"{v:.2f}x" if isinstance(v, float) else ""
    for r in rows:
        ours, theirs, theirs_same = r.get("ours_ours_s"), r.get("ppgan_installed_s"), r.get("ppgan_ours_s")
        gflops = _div(r["gflop"], ours) if r["gflop"] else None
        lines.append(f"| {r['case']} | {r['op']} | {f(theirs)} | {f(ours)} | {x(_div(theirs, ours))} | "
                     f"{f(theirs_same)} | {x(_div(theirs_same, ours))} | {f(gflops) if gflops else ''} |")
    lines += ["", "Ours (our CLI's settings) over the plain convolutions of the same shapes (its floor):", "",
              "| case | " + " | ".join(op for op, _ in FLOORS) + " |", "|---|" + "---|" * len(FLOORS)]
    for case in sorted({r["case"] for r in rows}):
        by_op = {r["op"]: r for r in rows if r["case"] == case}
        ratios = [_div(by_op.get(op, {}).get("ours_ours_s"), by_op.get(floor, {}).get("ours_ours_s"))
                  for op, floor in FLOORS]
        lines.append(f"| {case} | " + " | ".join(x(v) for v in ratios) + " |")
    lines += ["", "Operators launched by one training iteration (forward ops + backward nodes, Paddle's profiler):",
              "", "| case | iteration | ppgan | ours |", "|---|---|---|---|"]
    for r in rows:
        if r["op"] in OP_COUNTS:
            lines.append(f"| {r['case']} | {r['op']} | {r.get('ppgan_ops') or ''} | {r.get('ours_ops') or ''} |")
    lines.append("")
    for setting, result in results.items():
        lines.append(f"* settings `{setting}`: {result['runtime']}; sgemm 4608x4096x512: "
                     f"{result['sgemm_gflops']:.0f} GFLOP/s")
    return "\n".join(lines)


def run_benchmark(cases, warmup=1, repeat=3, out=None, markdown=None, command="ppgan-stylegan benchmark"):
    """Run the named cases under both settings (a worker process each); print the table; write the JSON to
    ``out`` and the table to ``markdown``."""
    unknown = [name for name in cases if name not in CASES]
    if unknown:
        raise UserError(f"--cases: unknown case {unknown[0]!r}; choose from {', '.join(CASES)}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for setting in SETTINGS:
            path = os.path.join(tmp, f"{setting}.json")
            print(f"\n=== settings: {setting}", flush=True)
            subprocess.run([sys.executable, "-m", "ppgan_stylegan.cli", "benchmark", "--worker", path, "--cases",
                            ",".join(cases), "--warmup", str(warmup), "--repeat", str(repeat), "--out", path],
                           env=worker_env(setting), check=True)
            with open(path) as f:
                results[setting] = json.load(f)
    rows = merge(results)
    md = table(rows, results)
    print("\n" + md)
    info = {"paddle": paddle.__version__, "machine": machine(), "date": time.strftime("%Y-%m-%d"),
            "command": command, "settings": {k: {"runtime": v["runtime"], "sgemm_gflops": v["sgemm_gflops"]}
                                             for k, v in results.items()}, "rows": rows}
    if out:
        write_json(info, out, indent=2, default=str)
        print(f"\nwrote {out}")
    if markdown:
        header = (f"Measured {info['date']} on {info['machine']}, device(s): "
                  f"{', '.join(sorted({r['device'] for r in rows}))}.\n\nReproduce with:\n\n```bash\n{command}\n```\n\n")
        with open(markdown, "w") as f:
            f.write(header + md + "\n")
        print(f"wrote {markdown}")
    return rows
