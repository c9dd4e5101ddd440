"""Applications: the logic of every tool, on one predictor base (``GeneratorPredictor``) where a generator is
used. Command lines (``ppgan_stylegan.cli``) only parse arguments and call these."""
from .base import GeneratorPredictor, parse_seeds
from .generate import ImageGenerator
from .mixing import StyleMixer, parse_styles

__all__ = ["GeneratorPredictor", "parse_seeds", "ImageGenerator", "StyleMixer", "parse_styles"]
