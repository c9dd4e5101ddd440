#!/usr/bin/env python
"""Style mixing grids and latent blends. Same as `ppgan-stylegan mix`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("mix")
