"""Speed of ppgan 2.1.0's StyleGAN2 vs ours, side by side in one process, with the same weights.

    ppgan-stylegan benchmark --out output/benchmark.json                 # CPU cases (or tools/benchmark.py)
    ppgan-stylegan benchmark --cases cpu32 --repeat 5 --out bench.json
    ppgan-stylegan benchmark --cases gpu256,gpu1024,gpu1024amp --out bench_gpu.json   # needs a GPU

For every case both implementations are built, ours loads ppgan's state dict, then the two are
timed alternately (warm-up, then ``--repeat`` runs each, or more for short ops until ours has run
for 3 s, at most 15 runs; median) on: G forward (no grad), G forward+backward, D forward+backward,
an R1 step, a path-length step, and one training iteration
through each model's ``train_iter`` on the same batch (path length off in both, R1 amortised over
its interval as in training; ours is also timed with path length on). "floor" is the time of plain
F.conv2d / conv2d_transpose calls with the shapes of the network's convolutions: G forward (no grad),
G forward+backward and D forward+backward (gradients for inputs and weights), each timed in turn with the
row it is the floor of (ppgan, ours, floor, ppgan, ...).

Settings: every case runs twice, each time in a worker process of its own: ``installed`` (Paddle's
defaults: one math thread, MKL's generic path; how ppgan runs as installed) and ``ours`` (the CPU runtime
our command lines set up, ``core.runtime``). The table compares ppgan as installed with ours as our command
line runs it, and both under the same settings; it adds the in-process sgemm rate and, for rows whose
convolutions are known, the achieved GFLOP/s, the ratio of ours to its floors, and the number of operators
(forward ops and backward nodes, counted by Paddle's profiler) one training iteration launches.
JSON rows: case, op, setting, ppgan_s, ours_s, GFLOP counts, operator counts.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import paddle
import paddle.nn.functional as F
import paddle.profiler as profiler
from paddle.profiler.profiler_statistic import StatisticData
from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator
from ppgan.models.styleganv2_model import StyleGAN2Model, g_path_regularize
from ppgan.models.styleganv2_model import r1_penalty as ppgan_r1

from ..core import runtime
from ..core.device import use_device
from ..core.errors import UserError
from ..core.files import write_json
from ..losses import path_length_penalty, r1_penalty
from ..models import StyleGANModel
from ..networks import StyleGAN2Discriminator, StyleGAN2Generator
from ..ops import double_backward

CASES = {
    "smoke": dict(device="cpu", size=8, cm=1, batch=2, style_dim=32, n_mlp=1, amp=False,
                  min_seconds=0),  # tests only: --repeat runs, no more
    "cpu32": dict(device="cpu", size=32, cm=1, batch=4, style_dim=512, n_mlp=2, amp=False),
    "cpu64": dict(device="cpu", size=64, cm=1, batch=4, style_dim=512, n_mlp=2, amp=False),
    "gpu256": dict(device="gpu", size=256, cm=2, batch=8, style_dim=512, n_mlp=8, amp=False),
    "gpu1024": dict(device="gpu", size=1024, cm=2, batch=4, style_dim=512, n_mlp=8, amp=False),
    "gpu1024amp": dict(device="gpu", size=1024, cm=2, batch=4, style_dim=512, n_mlp=8, amp=True),
}


def sync():
    if paddle.device.get_device().startswith("gpu"):
        paddle.device.cuda.synchronize()


def peak_mb():
    if paddle.device.get_device().startswith("gpu"):
        return round(paddle.device.cuda.max_memory_allocated() / 2 ** 20, 1)
    return None


def reset_peak():
    if paddle.device.get_device().startswith("gpu"):
        paddle.device.cuda.reset_max_memory_allocated()


def timed(fn, amp=False):
    """Seconds for one call (None + message if it raises)."""
    reset_peak()
    sync()
    start = time.perf_counter()
    try:
        with paddle.amp.auto_cast(enable=amp, level="O1"):
            fn()
        sync()
    except Exception as e:  # ppgan's path-length step crashes on CPU (no conv2d_transpose double grad)
        return None, f"crash: {str(e).splitlines()[0][:100]}"
    return time.perf_counter() - start, peak_mb()


MIN_SECONDS, MAX_RUNS = 3.0, 15  # short ops: more runs (this machine's timings scatter by 10-20 %)


def measure(pairs, warmup, repeat, amp, min_seconds=MIN_SECONDS, max_runs=MAX_RUNS):
    """pairs: {op: (ppgan_fn or None, ours_fn[, floor_fn])}; the implementations alternate run by run (so the
    machine's drift and each one's effect on caches and heap hit all of them alike). At least ``repeat`` timed
    runs, more (up to ``max_runs``) until ours has run for ``min_seconds``."""
    rows = {}
    for op, fns in pairs.items():
        named = list(zip(("ppgan", "ours", "floor"), tuple(fns) + (None,) * (3 - len(fns))))
        results = {name: [] for name, _ in named}
        info = {name: None for name, _ in named}
        i = -1
        while True:
            i += 1
            runs = i - warmup
            enough = sum(results["ours"]) >= min_seconds or (info["ours"] or "").startswith("crash")
            if runs >= repeat and (runs >= max_runs or enough):
                break
            for name, fn in named:
                if fn is None or (info[name] or "").startswith("crash"):
                    continue
                seconds, extra = timed(fn, amp)
                info[name] = extra
                if seconds is not None and i >= warmup:
                    results[name].append(seconds)
        row = {}
        for name, fn in named:
            if results[name]:
                row[f"{name}_s"] = statistics.median(results[name])
                row[f"{name}_peak_mem_mb"] = info[name]
            elif name != "floor":
                row[f"{name}_s"] = info[name] if isinstance(info[name], str) else ("n/a" if fn is None else None)
        rows[op] = row
        floor = f"   floor {fmt(row['floor_s']):>10}" if "floor_s" in row else ""
        print(f"  {op:<26} ppgan {fmt(row['ppgan_s']):>12}   ours {fmt(row['ours_s']):>10}{floor}", flush=True)
    return rows


def fmt(v):
    return f"{v:.3f}s" if isinstance(v, float) else str(v)


def build_case(c, seed=0):
    paddle.seed(seed)
    g_theirs = StyleGANv2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"])
    d_theirs = StyleGANv2Discriminator(c["size"], channel_multiplier=c["cm"])
    g_ours = StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"])
    d_ours = StyleGAN2Discriminator(c["size"], channel_multiplier=c["cm"])
    g_ours.set_state_dict(g_theirs.state_dict())
    d_ours.set_state_dict(d_theirs.state_dict())
    return g_theirs, d_theirs, g_ours, d_ours


def generator_convs(gen, batch):
    """(input shape, weight shape, stride, transposed) of the generator's convolutions, in order."""
    convs, res = [], 4
    for layer, _ in gen._modulated_layers():
        shape = [layer.out_channel, layer.in_channel, layer.kernel_size, layer.kernel_size]
        convs.append(([batch, layer.in_channel, res, res], shape, 2 if layer.upsample else 1, layer.upsample))
        res *= 2 if layer.upsample else 1
    return convs


def discriminator_convs(disc, image):
    """The same for the discriminator, recorded from one forward pass (its equalized convolutions)."""
    convs, hooks = [], []
    for layer in disc.sublayers():
        if type(layer).__name__ == "EqualConv2D":
            hooks.append(layer.register_forward_pre_hook(
                lambda lyr, inputs: convs.append((list(inputs[0].shape), list(lyr.weight.shape), lyr.stride, False))))
    with paddle.no_grad():
        disc(image)
    for hook in hooks:
        hook.remove()
    return convs


def conv_flops(convs):
    """Multiply-adds x 2 of the forward convolutions (a transposed conv: over its input grid)."""
    total = 0
    for (n, _, h, w), (o, i, k, _), stride, transposed in convs:
        out_hw = h * w if transposed else (h // stride) * (w // stride)
        total += 2 * n * o * i * k * k * out_hw
    return total


def conv_floor(convs, backward=False):
    """Plain F.conv2d / conv2d_transpose calls with these shapes (padding k // 2; with ``backward`` the
    gradients of inputs and weights too)."""
    tensors = []
    for x_shape, (o, i, k, _), stride, transposed in convs:
        x, w = paddle.randn(x_shape), paddle.randn([i, o, k, k] if transposed else [o, i, k, k])  # leaves
        x.stop_gradient = w.stop_gradient = not backward
        tensors.append((x, w, stride, transposed, k // 2))

    def run():
        with paddle.set_grad_enabled(backward):
            outs = [F.conv2d_transpose(x, w, stride=2) if transposed else F.conv2d(x, w, stride=stride, padding=pad)
                    for x, w, stride, transposed, pad in tensors]
            if backward:
                paddle.add_n([o.mean() for o in outs]).backward()
    return run


def count_ops(fn):
    """Operators one call of ``fn`` launches: forward ops and backward nodes, as Paddle's profiler counts them."""
    prof = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU])
    prof.start()
    try:
        fn()
    finally:
        prof.stop()
    stats = StatisticData(prof.profiler_result.get_data(), prof.profiler_result.get_extra_info())
    return sum(item.call for item in stats.event_summary.items.values())


FLOORS = (("G forward (no grad)", "floor: G forward"), ("G forward+backward", "floor: G forward+backward"),
          ("D forward+backward", "floor: D forward+backward"))
OP_COUNTS = ("train iter (no reg)", "train iter (with R1)", "train iter (R1+PL, ours)")


def sgemm_gflops(m=4608, k=4096, n=512, repeat=3):
    """Achieved GFLOP/s of one float32 matmul [m, k] x [k, n] (median of ``repeat``)."""
    a, b = paddle.randn([m, k]), paddle.randn([k, n])
    paddle.matmul(a, b).numpy()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        paddle.matmul(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * m * k * n / statistics.median(times) / 1e9


def model_pair(c, g_theirs, d_theirs, g_ours, d_ours, real):
    gcfg = dict(name="StyleGAN2Generator", size=c["size"], style_dim=c["style_dim"], n_mlp=c["n_mlp"],
                channel_multiplier=c["cm"])
    dcfg = dict(name="StyleGAN2Discriminator", size=c["size"], channel_multiplier=c["cm"])
    theirs = StyleGAN2Model(dict(name="StyleGANv2Generator", size=c["size"], style_dim=c["style_dim"],
                                 n_mlp=c["n_mlp"], channel_multiplier=c["cm"]),
                            dict(name="StyleGANv2Discriminator", size=c["size"], channel_multiplier=c["cm"]),
                            gan_criterion=dict(name="GANLoss", gan_mode="logistic"),
                            num_style_feat=c["style_dim"], params=dict(gen_iters=10 ** 9, disc_iters=16))
    theirs.nets["gen"].set_state_dict(g_theirs.state_dict())
    theirs.nets["disc"].set_state_dict(d_theirs.state_dict())
    models = {}
    for name, pl in (("pl_off", 0.0), ("pl_on", 2.0)):
        m = StyleGANModel(gcfg, dcfg, pl_weight=pl, r1_gamma=10.0)
        m.nets["gen"].set_state_dict(g_ours.state_dict())
        m.nets["disc"].set_state_dict(d_ours.state_dict())
        models[name] = m
    optims = {}
    for key, m in [("ppgan", theirs)] + list(models.items()):
        optims[key] = {"optimG": paddle.optimizer.Adam(2e-3, beta1=0.0, beta2=0.99,
                                                       parameters=m.nets["gen"].parameters()),
                       "optimD": paddle.optimizer.Adam(2e-3, beta1=0.0, beta2=0.99,
                                                       parameters=m.nets["disc"].parameters())}
        m.setup_input({"A": real})

    def ppgan_iter(r1):
        theirs.current_iter = 16 if r1 else 1
        theirs.train_iter(optims["ppgan"])

    def ours_iter(key, r1):
        m = models[key]
        m.current_iter = 0 if r1 else 1  # R1 at step % 16 == 0; path length at step % 4 == 0 (with r1)
        m.train_iter(optims[key])

    return ppgan_iter, ours_iter


def run_case(name, c, warmup, repeat):
    if c["device"] == "gpu" and not paddle.is_compiled_with_cuda():
        print(f"{name}: skipped (Paddle has no CUDA)")
        return []
    use_device(c["device"])
    print(f"\n== {name}: {c}", flush=True)
    g_theirs, d_theirs, g_ours, d_ours = build_case(c)
    b, s = c["batch"], c["style_dim"]
    z = [paddle.randn([b, s])]
    real = paddle.randn([b, 3, c["size"], c["size"]])

    def g_fwd(g):
        def run():
            with paddle.no_grad():
                g(z)
        return run

    def g_fwd_bwd(g):
        return lambda: g(z)[0].mean().backward()

    def d_fwd_bwd(d):
        return lambda: d(real).mean().backward()

    def r1(d, fn):
        def run():
            x = real.detach()
            x.stop_gradient = False
            fn(d(x), x).backward()
        return run

    def pl_theirs():
        img, lat = g_theirs([paddle.randn([max(1, b // 2), s])], return_latents=True)
        g_path_regularize(img, lat, 0.0)[0].backward()

    def pl_ours():
        with double_backward():
            img, lat = g_ours([paddle.randn([max(1, b // 2), s])], return_latents=True)
            path_length_penalty(img, lat, 0.0)[0].backward()

    ppgan_iter, ours_iter = model_pair(c, g_theirs, d_theirs, g_ours, d_ours, real)
    g_convs, d_convs = generator_convs(g_ours, b), discriminator_convs(d_ours, real)
    flops = {"G forward (no grad)": conv_flops(g_convs), "G forward+backward": 3 * conv_flops(g_convs),
             "D forward+backward": 3 * conv_flops(d_convs)}
    flops.update({"floor: G forward": flops["G forward (no grad)"], "floor: G forward+backward":
                  flops["G forward+backward"], "floor: D forward+backward": flops["D forward+backward"]})
    g_fused = StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"], fused_modconv=True)
    g_fused.set_state_dict(g_ours.state_dict())
    g_nonfused = StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"],
                                    fused_modconv=False)
    g_nonfused.set_state_dict(g_ours.state_dict())
    pairs = {  # the floors run interleaved with the rows they are the floor of
        "G forward (no grad)": (g_fwd(g_theirs), g_fwd(g_ours), conv_floor(g_convs)),
        "G forward, fused modconv": (None, g_fwd(g_fused)),
        "G forward, non-fused modconv": (None, g_fwd(g_nonfused)),
        "G forward+backward": (g_fwd_bwd(g_theirs), g_fwd_bwd(g_ours), conv_floor(g_convs, backward=True)),
        "D forward+backward": (d_fwd_bwd(d_theirs), d_fwd_bwd(d_ours), conv_floor(d_convs, backward=True)),
        "R1 step": (r1(d_theirs, ppgan_r1), r1(d_ours, r1_penalty)),
        "path-length step": (pl_theirs, pl_ours),
        "train iter (no reg)": (lambda: ppgan_iter(False), lambda: ours_iter("pl_off", False)),
        "train iter (with R1)": (lambda: ppgan_iter(True), lambda: ours_iter("pl_off", True)),
        "train iter (R1+PL, ours)": (None, lambda: ours_iter("pl_on", True)),
    }
    rows = measure(pairs, warmup, repeat, c["amp"], min_seconds=c.get("min_seconds", MIN_SECONDS))
    for op, floor in FLOORS:
        rows[floor] = {"ppgan_s": "n/a", "ours_s": rows[op].get("floor_s", "n/a")}
    for op in OP_COUNTS:  # after the timed runs (warm): what one iteration launches
        for impl, fn in zip(("ppgan", "ours"), pairs[op]):
            if fn is not None and isinstance(rows[op].get(f"{impl}_s"), float):
                rows[op][f"{impl}_ops"] = count_ops(fn)
    # R1 amortised over its interval (16), path length off in both
    amort = {}
    for impl in ("ppgan", "ours"):
        plain, with_r1 = rows["train iter (no reg)"][f"{impl}_s"], rows["train iter (with R1)"][f"{impl}_s"]
        if isinstance(plain, float) and isinstance(with_r1, float):
            amort[f"{impl}_s"] = plain + (with_r1 - plain) / 16
    rows["train iter (R1 amortised)"] = amort
    out = []
    for op, row in rows.items():
        theirs, ours = row.get("ppgan_s"), row.get("ours_s")
        ratio = theirs / ours if isinstance(theirs, float) and isinstance(ours, float) else None
        out.append({"case": name, "op": op, "ppgan_s": theirs, "ours_s": ours, "ratio": ratio,
                    "gflop": flops[op] / 1e9 if op in flops else None,
                    "ppgan_ops": row.get("ppgan_ops"), "ours_ops": row.get("ours_ops"),
                    "ppgan_peak_mem_mb": row.get("ppgan_peak_mem_mb"), "ours_peak_mem_mb": row.get("ours_peak_mem_mb"),
                    "device": paddle.device.get_device(), "config": c})
    return out


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
