"""Value checks with one message style: ``<where>: expected <what>, got <value>`` (raises ConfigError).

``arg_int`` / ``arg_float`` / ``arg_seed`` are the same checks as command-line types (argparse ``type=``): a
count, size, rate or seed out of its range, a NaN or an infinity is refused where it enters, in one line.
"""
import argparse
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
    """A finite real number in ``[low, high]`` (``high=None``: no upper bound)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= low
    ok = ok and (high is None or value <= high)
    what = f"a number >= {low:g}" if high is None else f"a number in [{low:g}, {high:g}]"
    require(ok, f"{where}: expected {what}, got {value!r}")
    return value


def check_probability(where, value):
    """A probability: a real number in [0, 1]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    require(ok, f"{where}: expected a probability in [0, 1], got {value!r}")
    return value


def check_finite(where, array):
    """An array without NaN or infinity (a latent, a direction, noise maps read from a file)."""
    import numpy as np
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    require(bad == 0, f"{where}: {bad} of {np.size(array)} values are NaN or infinite; expected finite numbers")
    return array


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


SEED_MAX = 2 ** 32 - 1  # NumPy's RandomState (NVlabs' seed convention) takes seeds 0 .. 2^32 - 1


def arg_int(minimum=1, maximum=None):
    """An argparse type: an integer in ``[minimum, maximum]``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
        if value < minimum or (maximum is not None and value > maximum):
            span = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            raise argparse.ArgumentTypeError(f"expected an integer {span}, got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def arg_float(low=None, high=None, above=None):
    """An argparse type: a finite number in ``[low, high]`` (``above``: strictly greater than it)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
        bad = not math.isfinite(value) or (low is not None and value < low) or (
            high is not None and value > high) or (above is not None and value <= above)
        if bad:
            span = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else "",
                    f"> {above:g}" if above is not None else ""]
            what = " ".join(["a finite number"] + [" and ".join(x for x in span if x)]).strip()
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = "number"
    return parse


arg_seed = arg_int(0, SEED_MAX)
