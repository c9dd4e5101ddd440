#!/usr/bin/env python
"""Export gen_ema for Paddle Inference. Same as `ppgan-stylegan export`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("export")
