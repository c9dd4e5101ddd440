#!/usr/bin/env python
"""Images and W+ latents from seeds. Same as `ppgan-stylegan generate`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("generate")
