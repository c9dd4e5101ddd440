"""Applications: one predictor base (``GeneratorPredictor``) shared by all of them."""
from .base import GeneratorPredictor, UserError, build_generator, parse_seeds, run_cli
from .generate import ImageGenerator, StyleMixer, parse_styles

__all__ = ["GeneratorPredictor", "UserError", "build_generator", "parse_seeds", "run_cli", "ImageGenerator",
           "StyleMixer", "parse_styles"]
