"""Networks: the StyleGAN generators, discriminators and the pSp encoder, the blocks they share, and building
them from weight files (``loading``). Registered in ppgan's GENERATORS / DISCRIMINATORS on import."""
from .discriminators import StyleGAN2Discriminator, StyleGANDiscriminator
from .encoders import GradualStyleEncoder, PSPEncoder, PSPEncoderIntoW, PSPEncoderIntoWPlus
from .generators import StyleGAN2Generator, StyleGANGenerator

__all__ = ["StyleGAN2Generator", "StyleGANGenerator", "StyleGAN2Discriminator", "StyleGANDiscriminator",
           "GradualStyleEncoder", "PSPEncoder", "PSPEncoderIntoW", "PSPEncoderIntoWPlus"]
