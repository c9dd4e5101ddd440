from .psp import GradualStyleEncoder, PSPEncoder, require_square_rgb

__all__ = ["GradualStyleEncoder", "PSPEncoder", "require_square_rgb"]
