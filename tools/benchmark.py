#!/usr/bin/env python
"""ppgan vs ours, side by side. Same as `ppgan-stylegan benchmark`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("benchmark")
