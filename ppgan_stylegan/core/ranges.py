"""One grammar for integer lists on command lines: ``0-3,7,10-11`` (plus named presets where a flag has them)."""
import re

from .errors import UserError


def parse_ranges(text, option, presets=None, limit=None, unit="values"):
    """``'0-3,7'`` -> ``[0, 1, 2, 3, 7]`` (sorted, unique). ``presets`` maps names to ``(lo, hi)`` half-open
    ranges (``hi=None``: up to ``limit``); with ``limit`` every value must be below it."""
    presets = presets or {}
    values = set()
    for part in str(text).split(","):
        part = part.strip()
        if part in presets:
            lo, hi = presets[part]
            hi = limit if hi is None else min(hi, limit) if limit is not None else hi
            if limit is not None and lo >= limit:
                raise UserError(f"{option} {part}: only {limit} {unit} exist (0-{limit - 1})")
            values.update(range(lo, hi))
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            names = "".join(f"{name}, " for name in presets)
            raise UserError(f"{option}: cannot read {part!r} (use {names}ranges like 0-3,6)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise UserError(f"{option}: empty range {part!r}")
        if limit is not None and hi >= limit:
            raise UserError(f"{option} {part}: {unit} must be within 0-{limit - 1}")
        values.update(range(lo, hi + 1))
    return sorted(values)
