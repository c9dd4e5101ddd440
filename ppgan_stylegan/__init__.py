"""ppgan-stylegan: StyleGAN2 / StyleGAN for PaddleGAN (ppgan 2.1.0) on current Paddle.

Importing the package first makes ppgan importable on Paddle >= 2.6 (``compat``), then
registers our classes in ppgan's registries:

* GENERATORS: ``StyleGAN2Generator``, ``PSPEncoder`` (pixel2style2pixel encoder)
* DISCRIMINATORS: ``StyleGAN2Discriminator`` (residual, v2), ``StyleGANDiscriminator`` (v1 D_basic)
* MODELS: ``StyleGANModel``, ``PSPModel``; DATASETS: ``StyleGANImageFolder``, ``StyleGANLatentDataset``;
  METRICS: ``SWD``, ``EncoderError``
"""
from . import compat  # noqa: F401  (must run before anything imports ppgan)
from .discriminators import StyleGAN2Discriminator, StyleGANDiscriminator
from .generators import StyleGAN2Generator
from .encoders import PSPEncoder
from .models import PSPModel, StyleGANModel
from .datasets import StyleGANImageFolder, StyleGANLatentDataset
from .metrics import SWD, EncoderError

__version__ = "0.1.0"

__all__ = ["StyleGAN2Generator", "StyleGAN2Discriminator", "StyleGANDiscriminator", "StyleGANModel",
           "PSPEncoder", "PSPModel", "StyleGANImageFolder", "StyleGANLatentDataset", "SWD", "EncoderError",
           "__version__"]
