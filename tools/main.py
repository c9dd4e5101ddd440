#!/usr/bin/env python
"""Train / evaluate from a PaddleGAN-schema YAML config (PaddleGAN's tools/main.py).
Same as `ppgan-stylegan train`; see its --help."""
from ppgan_stylegan.cli import run_script

run_script("train")
