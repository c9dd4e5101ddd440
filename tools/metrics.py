#!/usr/bin/env python
"""FID, KID, PPL, SWD of a generator. Same as `ppgan-stylegan metrics`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("metrics")
