"""Value checks with one message style: ``<where>: expected <what>, got <value>`` (raises ConfigError)."""
import math

from .errors import ConfigError


def require(condition, message):
    """Raise ``ConfigError(message)`` unless ``condition``."""
    if not condition:
        raise ConfigError(message)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(where, value, minimum=1, allow=()):
    """An integer >= ``minimum`` (or one of ``allow``, e.g. -1 for 'never')."""
    if value in allow and _is_int(value):
        return value
    extra = "".join(f" or {a}" for a in allow)
    require(_is_int(value) and value >= minimum, f"{where}: expected an integer >= {minimum}{extra}, got {value!r}")
    return value


def check_number(where, value, low=0.0, high=None):
    """A real number in ``[low, high]`` (``high=None``: no upper bound)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= low
    ok = ok and (high is None or value <= high)
    what = f"a number >= {low:g}" if high is None else f"a number in [{low:g}, {high:g}]"
    require(ok, f"{where}: expected {what}, got {value!r}")
    return value


def check_probability(where, value):
    """A probability: a real number in [0, 1]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    require(ok, f"{where}: expected a probability in [0, 1], got {value!r}")
    return value


def check_bool(where, value):
    require(isinstance(value, bool), f"{where}: expected true or false, got {value!r}")
    return value


def check_choice(where, value, choices):
    require(value in choices, f"{where}: expected one of {sorted(choices, key=str)}, got {value!r}")
    return value


def check_size(size, low=8, high=1024, where="size"):
    """Image sizes are powers of two in ``[low, high]``; returns ``log2(size)``."""
    require(_is_int(size) and low <= size <= high and not size & (size - 1),
            f"{where}: expected a power of two between {low} and {high}, got {size!r}")
    return int(math.log2(size))


IMAGE_CHANNELS = {1: "grayscale", 3: "RGB", 4: "RGBA"}


def check_image_channels(value, where="img_channels"):
    """Image channels: 1 (grayscale), 3 (RGB) or 4 (RGBA)."""
    require(_is_int(value) and value in IMAGE_CHANNELS,
            f"{where}: expected 1 (grayscale), 3 (RGB) or 4 (RGBA), got {value!r}")
    return value


def check_image_shape(size, where="size", low=8, high=1024, max_aspect=4):
    """An image size: an int (a square; ``check_size``) or ``[H, W]``, powers of two in ``[low, high]`` with an aspect
    ratio from 1:``max_aspect`` to ``max_aspect``:1. Returns ``(H, W)``."""
    if _is_int(size):
        check_size(size, low, high, where)
        return size, size
    pair = isinstance(size, (list, tuple)) and len(size) == 2 and all(
        _is_int(v) and low <= v <= high and not v & (v - 1) for v in size)
    require(pair and max(size) <= max_aspect * min(size),
            f"{where}: expected a power of two between {low} and {high}, or [H, W] of such with an aspect ratio "
            f"from 1:{max_aspect} to {max_aspect}:1, got {size!r}")
    return int(size[0]), int(size[1])
