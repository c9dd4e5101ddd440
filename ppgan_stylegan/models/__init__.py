from .psp_model import PSPModel
from .stylegan_model import StyleGANModel

__all__ = ["StyleGANModel", "PSPModel"]
