#!/usr/bin/env python
"""Move a latent along a direction. Same as `ppgan-stylegan edit`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("edit")
