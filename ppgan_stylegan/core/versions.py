"""The package version and the versions a checkpoint records."""
import sys

__version__ = "0.1.0"


def versions():
    import paddle
    import ppgan
    return {"ppgan_stylegan": __version__, "paddle": paddle.__version__,
            "ppgan": getattr(ppgan, "__version__", "2.1.0"), "python": sys.version.split()[0]}
