"""ppgan-stylegan: StyleGAN2 / StyleGAN for PaddleGAN (ppgan 2.1.0) on current Paddle.

Importing the package first makes ppgan importable on Paddle >= 2.6 (``compat``), then
registers our classes in ppgan's registries:

* GENERATORS: ``StyleGAN2Generator``
* DISCRIMINATORS: ``StyleGAN2Discriminator`` (residual, v2), ``StyleGANDiscriminator`` (v1 D_basic)
* MODELS: ``StyleGANModel``; DATASETS: ``StyleGANImageFolder``; METRICS: ``SWD``
"""
from . import compat  # noqa: F401  (must run before anything imports ppgan)
from .discriminators import StyleGAN2Discriminator, StyleGANDiscriminator
from .generators import StyleGAN2Generator
from .models import StyleGANModel
from .datasets import StyleGANImageFolder
from .metrics import SWD

__version__ = "0.1.0"

__all__ = ["StyleGAN2Generator", "StyleGAN2Discriminator", "StyleGANDiscriminator", "StyleGANModel",
           "StyleGANImageFolder", "SWD", "__version__"]
