#!/usr/bin/env python
"""The embedded demo: StyleGAN2 on 100 faces on the CPU. Same as `ppgan-stylegan demo`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("demo")
