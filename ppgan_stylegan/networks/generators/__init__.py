from .stylegan1 import StyleGANGenerator
from .stylegan2 import StyleGAN2Generator

__all__ = ["StyleGAN2Generator", "StyleGANGenerator"]
