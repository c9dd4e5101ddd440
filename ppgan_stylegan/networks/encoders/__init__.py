from .psp import GradualStyleEncoder, PSPEncoder

__all__ = ["GradualStyleEncoder", "PSPEncoder"]
