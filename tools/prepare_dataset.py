#!/usr/bin/env python
"""Images -> power-of-two PNGs (square or H x W, 1 / 3 / 4 channels), or the demo set. Same as `ppgan-stylegan prepare`;
see its --help."""
from ppgan_stylegan.cli import run_script

run_script("prepare")
