from .stylegan1 import StyleGANDiscriminator
from .stylegan2 import StyleGAN2Discriminator

__all__ = ["StyleGAN2Discriminator", "StyleGANDiscriminator"]
