from .encoder import EncoderError
from .inception import (FrechetInceptionDistance, KernelInceptionDistance, PerceptualPathLength, fid_from_features,
                        kid_from_features, perceptual_path_length)
from .swd import SWD, laplacian_pyramid, swd

__all__ = ["SWD", "swd", "laplacian_pyramid", "EncoderError", "FrechetInceptionDistance", "KernelInceptionDistance",
           "PerceptualPathLength", "fid_from_features", "kid_from_features", "perceptual_path_length"]
