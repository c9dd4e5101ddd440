#!/usr/bin/env python
"""The web app (the file an AI Studio app points at). Same as `ppgan-stylegan app`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("app")
