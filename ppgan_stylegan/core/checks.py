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
    require(value in choices, f"{where}: expected one of {sorted(choices)}, got {value!r}")
    return value


def check_size(size, low=8, high=1024, where="size"):
    """Image sizes are powers of two in ``[low, high]``; returns ``log2(size)``."""
    require(_is_int(size) and low <= size <= high and not size & (size - 1),
            f"{where}: expected a power of two between {low} and {high}, got {size!r}")
    return int(math.log2(size))
