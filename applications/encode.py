#!/usr/bin/env python
"""pSp encoder inference. Same as `ppgan-stylegan encode`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("encode")
