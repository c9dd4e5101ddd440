"""``PPGAN_STYLEGAN_QUICK=1``: every long step of every command shortened, so that the README's commands can be
run as written in minutes (the README test does; so can a user checking an installation). Training stops after
a few iterations, projection after a few steps, metrics use a few images. Results are then meaningless."""
import os

ENV = "PPGAN_STYLEGAN_QUICK"
LIMITS = {"iters": 12, "steps": 8, "images": 64}


def enabled(environ=os.environ):
    return environ.get(ENV, "0").strip().lower() in ("1", "true", "yes", "on")


def cap(value, what):
    """``value``, or at most ``LIMITS[what]`` in quick mode."""
    if value is None or not enabled():
        return value
    return min(value, LIMITS[what])
