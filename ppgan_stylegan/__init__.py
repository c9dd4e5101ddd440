"""ppgan-stylegan: StyleGAN2 / StyleGAN for PaddleGAN (ppgan 2.1.0) on current Paddle.

Importing the package first makes ppgan importable on Paddle >= 2.6 (``core.compat``), then registers our
classes in ppgan's registries:

* GENERATORS: ``StyleGAN2Generator``, ``StyleGANGenerator`` (v1 G_style), ``PSPEncoder`` (pixel2style2pixel encoder)
* DISCRIMINATORS: ``StyleGAN2Discriminator`` (residual, v2), ``StyleGANDiscriminator`` (v1 D_basic)
* MODELS: ``StyleGANModel``, ``PSPModel``; DATASETS: ``StyleGANImageFolder``, ``StyleGANLatentDataset``;
  METRICS: ``SWD``, ``EncoderError``, ``FrechetInceptionDistance``, ``KernelInceptionDistance``,
  ``PerceptualPathLength``

The layers (imports go one way, ``docs/architecture.md``): core <- ops <- networks <- losses | metrics | data
<- models | engine <- apps <- cli.
"""
from .core import compat  # noqa: F401  (must run before anything imports ppgan)
from .core.versions import __version__
from .data import StyleGANImageFolder, StyleGANLatentDataset
from .metrics import SWD, EncoderError
from .models import PSPModel, StyleGANModel
from .networks import (PSPEncoder, StyleGAN2Discriminator, StyleGAN2Generator, StyleGANDiscriminator,
                       StyleGANGenerator)

__all__ = ["StyleGAN2Generator", "StyleGANGenerator", "StyleGAN2Discriminator", "StyleGANDiscriminator", "StyleGANModel",
           "PSPEncoder", "PSPModel", "StyleGANImageFolder", "StyleGANLatentDataset", "SWD", "EncoderError",
           "__version__"]
