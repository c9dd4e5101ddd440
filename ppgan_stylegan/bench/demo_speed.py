"""The ``cpu-demo`` benchmark: one demo training iteration of two commits' code, side by side, and where an
iteration's time goes (per phase: milliseconds and Paddle operators).

    python -m ppgan_stylegan.bench.demo_speed --base 24b1dcb --out demo_speed.json     # base vs this tree
    python -m ppgan_stylegan.bench.demo_speed --profile --out demo_profile.json       # phases of this tree

Each side runs in its own process (the base commit from a ``git worktree``, this tree as it is), on the same
config file and demo images, with the CPU runtime the demo uses (one math thread, set as ``demo`` sets it). Both processes stay alive and take turns: each
round times ``--iters`` iterations (16: one lazy R1 step and four path-length steps at the demo's intervals) of
one side, then of the other, so the machine's drift hits both alike; the medians of the rounds and their ratio
are reported. An iteration is what the trainer does per step without data loading: ``setup_input`` of a fixed
batch, ``train_iter`` and the learning-rate step.
"""
import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ..core import runtime
from ..core.files import write_json
from ..data.prepare import prepare_demo
from .phases import profile_phases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CONFIGS = ("configs/stylegan_v2_demo.yaml", "configs/stylegan_v1_demo.yaml")

# The timing process (run in the tree whose code is timed). Protocol: it prints 'ready', then answers each line
# 'N' on stdin with the seconds N iterations took. Only what both old and new trees have is used.
CHILD = r"""
import sys, time
import ppgan_stylegan  # (the compat shim and CPU runtime before Paddle)
from ppgan_stylegan.core import runtime
from ppgan_stylegan.core.config import load_config
from ppgan_stylegan.engine import ResumableTrainer, seed_everything
config, data, out, warmup, overrides = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
runtime.use_math_threads(1, "as the demo runs")  # (what `ppgan-stylegan demo` does on a CPU)
cfg = load_config(config, overrides + [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}"])
cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, out
seed_everything(0)
trainer = ResumableTrainer(cfg, seed=0)
model, optimizers = trainer.model, trainer.optimizers
batch = next(iter(trainer.train_dataloader))

def iterate(n):
    for _ in range(n):
        model.setup_input(batch)
        model.train_iter(optimizers)
        trainer.learning_rate_scheduler_step()

iterate(warmup)
print("ready", flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    iterate(int(line))
    print(time.perf_counter() - start, flush=True)
"""


@contextlib.contextmanager
def worktree(ref):
    """A checkout of ``ref`` (``None``: this tree itself) to run; removed afterwards."""
    if ref is None:
        yield ROOT
        return
    path = tempfile.mkdtemp(prefix="demo-speed-")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "--force", path, ref], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", path], capture_output=True)


class Side:
    """One tree's timing process (``CHILD``)."""

    def __init__(self, tree, config, data, out, warmup, overrides=()):
        env = dict(os.environ, PYTHONPATH=tree)
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, config, data, out, str(warmup), *overrides],
                                     cwd=tree, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the timing process in {tree} did not start (exit {self.proc.poll()})")

    def seconds(self, iters):
        self.proc.stdin.write(f"{iters}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def compare(config, base, data, rounds=5, iters=16, warmup=4, head=None, overrides=()):
    """Seconds per iteration of ``config`` (with ``-o`` style ``overrides``) in commit ``base`` and in ``head``
    (None: this tree), interleaved."""
    times = {"base": [], "head": []}
    with worktree(base) as base_tree, worktree(head) as head_tree, tempfile.TemporaryDirectory() as out:
        config = os.path.abspath(config)
        sides = {name: Side(tree, config, data, os.path.join(out, name), warmup, overrides)
                 for name, tree in (("base", base_tree), ("head", head_tree))}
        try:
            for i in range(rounds):
                for name in (("base", "head") if i % 2 == 0 else ("head", "base")):  # (who goes first alternates)
                    times[name].append(sides[name].seconds(iters) / iters)
                print(f"  round {i + 1}/{rounds}: base {times['base'][-1] * 1e3:.1f} ms, head "
                      f"{times['head'][-1] * 1e3:.1f} ms per iteration", flush=True)
        finally:
            for side in sides.values():
                side.close()
    base_s, head_s = statistics.median(times["base"]), statistics.median(times["head"])
    return {"config": os.path.relpath(config, ROOT), "base": base, "head": head or "this tree",
            "base_ms_per_iter": round(base_s * 1e3, 2), "head_ms_per_iter": round(head_s * 1e3, 2),
            "head_over_base": round(head_s / base_s, 3), "rounds": rounds, "iters_per_round": iters,
            "runs_ms": {k: [round(v * 1e3, 2) for v in vs] for k, vs in times.items()}}


def demo_data(folder):
    """The demo faces (written by this tree's ``prepare_demo``; both sides read the same files)."""
    if not os.path.isdir(folder) or len(os.listdir(folder)) < 100:
        prepare_demo(folder)
    return folder


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="24b1dcb", help="the commit compared with (default: 24b1dcb, the issue's)")
    p.add_argument("--head", default=None, help="the other commit (default: this tree as it is)")
    p.add_argument("--configs", default=",".join(DEMO_CONFIGS), help="comma list of demo configs")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=16, help="iterations per timed round")
    p.add_argument("--profile", action="store_true", help="instead: this tree's time and operators per phase")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = demo_data(os.path.join(tmp, "demo"))
        configs = [os.path.join(ROOT, c) if not os.path.isabs(c) else c for c in args.configs.split(",")]
        if args.profile:
            runtime.use_math_threads(1, "as the demo runs")
            rows = [profile_phases(c, data, args.iters) for c in configs]
        else:
            rows = [compare(c, args.base, data, args.rounds, args.iters, head=args.head) for c in configs]
    result = {"date": time.strftime("%Y-%m-%d"), "machine": os.uname().machine, "cpus": os.cpu_count(),
              "math_threads": 1, "rows": rows}
    write_json(result, args.out, indent=2)
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
