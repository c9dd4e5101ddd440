"""Generator metrics: formulas (``inception``: FID / KID, ``swd``, ``ppl``), the table both the registered classes
and the ``metrics`` command compute through (``table``), ppgan METRICS classes (``registered``, ``encoder``)."""
from .encoder import EncoderError
from .inception import fid_from_features, kid_from_features
from .ppl import perceptual_path_length
from .registered import SWD, FrechetInceptionDistance, KernelInceptionDistance, PerceptualPathLength
from .swd import laplacian_pyramid, swd
from .table import METRIC_TABLE, Collected, Metric, missing_inputs

__all__ = ["SWD", "swd", "laplacian_pyramid", "EncoderError", "FrechetInceptionDistance", "KernelInceptionDistance",
           "PerceptualPathLength", "fid_from_features", "kid_from_features", "perceptual_path_length",
           "METRIC_TABLE", "Collected", "Metric", "missing_inputs"]
