"""Timing primitives of the benchmark: one timed call (device-synchronised, peak memory on a GPU), interleaved
medians of several implementations, operator counts from Paddle's profiler, the machine's sgemm rate."""
import statistics
import time

import paddle
import paddle.profiler as profiler
from paddle.profiler.profiler_statistic import StatisticData


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


def operator_summary(fn):
    """{operator: (calls, CPU seconds)} of one call of ``fn``: forward ops and backward nodes, as Paddle's profiler
    counts and times them."""
    prof = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU])
    prof.start()
    try:
        fn()
    finally:
        prof.stop()
    stats = StatisticData(prof.profiler_result.get_data(), prof.profiler_result.get_extra_info())
    return {name: (item.call, item.cpu_time / 1e9) for name, item in stats.event_summary.items.items()}


def count_ops(fn):
    """Operators one call of ``fn`` launches: forward ops and backward nodes."""
    return sum(calls for calls, _ in operator_summary(fn).values())


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
