"""The speed benchmark (``ppgan-stylegan benchmark``, ``tools/benchmark.py``): ppgan's StyleGAN2 and ours side by
side. A measurement tool, not part of the product: ``cases`` (what is timed), ``timing``, ``floors`` (plain
convolutions of the same shapes), ``report`` (settings, workers, the table)."""
from . import demo_speed
from .cases import CASES
from .report import run_benchmark, run_worker

__all__ = ["CASES", "demo_speed", "run_benchmark", "run_worker"]
