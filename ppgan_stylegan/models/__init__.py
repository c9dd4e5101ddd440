from .stylegan_model import StyleGANModel

__all__ = ["StyleGANModel"]
