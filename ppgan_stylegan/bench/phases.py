"""Where a demo training iteration's time goes: milliseconds and Paddle operators per phase (D main, D reg = R1,
G main, G reg = path length, the EMA of G) and the rest of ``train_iter`` (schedule, reals on the device,
bookkeeping), for this tree's code (``python -m ppgan_stylegan.bench.demo_speed --profile``)."""
import tempfile
import time
from collections import defaultdict

from ..core.config import load_config
from ..engine import ResumableTrainer, seed_everything
from .timing import count_ops, operator_summary

CONVOLUTIONS = ("conv2d", "Conv2d")  # forward ops and backward nodes of conv2d / conv2d_transpose


def demo_trainer(config, data, out, overrides=()):
    """The demo config's trainer on ``data`` (as ``bench.demo_speed``'s timing process builds it), its batch."""
    cfg = load_config(config, list(overrides) + [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}"])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, out
    seed_everything(0)
    trainer = ResumableTrainer(cfg, seed=0)
    return trainer, next(iter(trainer.train_dataloader))


def _timed(method, name, clock):
    """``method`` that adds its seconds and calls to ``clock[name]``."""
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            clock[name][0] += time.perf_counter() - start
            clock[name][1] += 1
    return run


def _phase_methods(model):
    """{label: method name} of the model's phases and its EMA update."""
    return dict({phase.name: phase.run for phase in model.phases}, EMA="update_ema")


def phase_operators(model, optimizers):
    """{phase: Paddle operators of one call} (each phase run once more, on the last batch)."""
    batch = model.real_img.shape[0]
    ops = {phase.name: count_ops(lambda phase=phase: getattr(model, phase.run)(optimizers[phase.optimizer], batch))
           for phase in model.phases}
    ops["EMA"] = count_ops(lambda: model.update_ema(batch))
    return ops


def profile_phases(config, data, iters=16, warmup=4, out=None, overrides=()):
    """{phase: ms per call, calls, ms per iteration, operators per call} over ``iters`` iterations (plus the whole
    iteration and the rest of it)."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer, batch = demo_trainer(config, data, out or tmp, overrides)
        model, optimizers = trainer.model, trainer.optimizers

        def iterate(n):
            for _ in range(n):
                model.setup_input(batch)
                model.train_iter(optimizers)
                trainer.learning_rate_scheduler_step()
        iterate(warmup)
        clock = defaultdict(lambda: [0.0, 0])
        originals = {label: getattr(model, name) for label, name in _phase_methods(model).items()}
        for label, method in originals.items():
            setattr(model, _phase_methods(model)[label], _timed(method, label, clock))
        start = time.perf_counter()
        iterate(iters)
        total = time.perf_counter() - start
        for label, method in originals.items():
            setattr(model, _phase_methods(model)[label], method)
        ops = phase_operators(model, optimizers)
        ops["iteration"] = count_ops(lambda: iterate(1))
        by_operator = operator_times(lambda: iterate(iters), iters)
    rows = {label: {"ms_per_call": round(s / n * 1e3, 2), "calls": n, "ms_per_iter": round(s / iters * 1e3, 2),
                    "operators_per_call": ops.get(label)} for label, (s, n) in clock.items() if n}
    rows["rest of train_iter"] = {"ms_per_iter": round((total - sum(s for s, _ in clock.values())) / iters * 1e3, 2)}
    rows["iteration"] = {"ms_per_iter": round(total / iters * 1e3, 2), "operators": ops["iteration"]}
    return {"config": config, "iters": iters, "phases": rows, "operators": by_operator}


def operator_times(fn, iters, top=12):
    """Where the profiled time of ``fn`` (``iters`` iterations) goes: the ``top`` operators by milliseconds per
    iteration, and the share of all operators' time spent in convolutions (forward and backward): the part that
    fewer operators cannot shorten."""
    summary = operator_summary(fn)
    total = sum(seconds for _, seconds in summary.values())
    conv = sum(seconds for name, (_, seconds) in summary.items() if any(c in name for c in CONVOLUTIONS))
    ranked = sorted(summary.items(), key=lambda item: -item[1][1])[:top]
    return {"ms_per_iter": round(total / iters * 1e3, 2), "convolution_share": round(conv / total, 3),
            "convolution_ms_per_iter": round(conv / iters * 1e3, 2),
            "top": [{"operator": name, "calls_per_iter": round(calls / iters, 1),
                     "ms_per_iter": round(seconds / iters * 1e3, 2)} for name, (calls, seconds) in ranked]}
