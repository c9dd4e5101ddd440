#!/usr/bin/env python
"""Fit a W / W+ latent to an image. Same as `ppgan-stylegan project`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("project")
