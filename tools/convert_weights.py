#!/usr/bin/env python
"""Weight import (rosinality .pt, PaddleGAN .pdparams). Same as `ppgan-stylegan convert`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("convert")
