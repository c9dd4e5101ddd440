#!/usr/bin/env python
"""Images -> square power-of-two PNGs, or the demo set. Same as `ppgan-stylegan prepare`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("prepare")
