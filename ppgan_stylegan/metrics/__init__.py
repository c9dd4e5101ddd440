from .encoder import EncoderError
from .swd import SWD, laplacian_pyramid, swd

__all__ = ["SWD", "swd", "laplacian_pyramid", "EncoderError"]
