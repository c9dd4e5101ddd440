"""Make ppgan 2.1.0 importable on Paddle >= 2.6, and load Paddle safely and fast on 2.6 and 3.x.

CPU runtime: ``runtime.configure`` sets the math threads and MKL's code path before Paddle loads.

Load order: Paddle 2.6's ``libpaddle.so`` exports zlib's symbols (``inflate``, ``deflate``, ...). When it is
loaded before Python's own ``zlib`` extension module, that module binds to Paddle's copies and every later
zlib user breaks (``import scipy`` after ``paddle``: "inconsistent stream state"; ``import ppgan_stylegan``:
"double free or corruption" and a hang). So ``zlib`` is imported here, before Paddle, and the package
imports this module first.

ppgan 2.1.0 imports ``paddle.fluid.layers.nn.soft_relu`` at import time
(``ppgan/models/starganv2_model.py``); ``paddle.fluid`` was removed in Paddle 2.6.
When (and only when) ``paddle.fluid`` cannot be imported, this module registers a
minimal stand-in package that provides ``soft_relu`` so that ``import ppgan.models``
works. Nothing else of the old fluid API is emulated.
"""
import importlib
import sys
import types
import warnings
import zlib  # noqa: F401  (before Paddle: see the module docstring)

from . import runtime

# Paddle's import warns about a missing ccache (only relevant when compiling C++ extensions).
warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)

runtime.configure()  # CPU threads and MKL's code path: only possible before Paddle loads
runtime.quiet_command_line()  # our command lines: Paddle's C++ log lines off (also only before it loads)
with runtime.PaddleThreadNotice():
    import paddle  # noqa: E402

_SHIM_MODULES = ("paddle.fluid", "paddle.fluid.layers", "paddle.fluid.layers.nn")


def soft_relu(x, threshold=40.0, name=None):
    """``log(1 + exp(clip(x, -threshold, threshold)))``, as the removed fluid op."""
    return paddle.log1p(paddle.exp(paddle.clip(x, -threshold, threshold)))


def write_(dst, value):
    """``dst`` (a parameter, buffer or gradient) overwritten in place by the tensor ``value`` on the device.

    ``Tensor.set_value`` of a tensor copies through numpy on Paddle 2.6 (a device -> host -> device round trip:
    a host synchronisation per call on a GPU); Paddle 3 swaps the storage instead. An ``assign`` into ``dst``
    stays on the device on both."""
    with paddle.no_grad():
        paddle.assign(value.astype(dst.dtype).reshape(dst.shape), output=dst)
    return dst


def fluid_is_missing():
    """True when this Paddle has no importable ``paddle.fluid``."""
    if "paddle.fluid" in sys.modules:
        return getattr(sys.modules["paddle.fluid"], "__ppgan_stylegan_shim__", False)
    try:
        importlib.import_module("paddle.fluid")
        return False
    except ImportError:
        return True


def install():
    """Install the shim if needed. Returns True when the shim is (now) in place."""
    if "paddle.fluid" in sys.modules:
        return bool(getattr(sys.modules["paddle.fluid"], "__ppgan_stylegan_shim__", False))
    if not fluid_is_missing():
        return False
    modules = {}
    for name in _SHIM_MODULES:
        module = types.ModuleType(name)
        module.__ppgan_stylegan_shim__ = True
        module.__path__ = []  # mark as a package so submodule imports resolve
        modules[name] = module
    modules["paddle.fluid"].layers = modules["paddle.fluid.layers"]
    modules["paddle.fluid.layers"].nn = modules["paddle.fluid.layers.nn"]
    modules["paddle.fluid.layers.nn"].soft_relu = soft_relu
    sys.modules.update(modules)
    return True


SHIM_INSTALLED = install()
