#!/usr/bin/env python
"""Network blending (toonify). Same as `ppgan-stylegan blend`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("blend")
