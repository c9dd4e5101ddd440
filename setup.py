"""ppgan-stylegan: StyleGAN2 / StyleGAN for PaddleGAN on current Paddle.

Paddle itself and ppgan are deliberately NOT in install_requires: pip must never replace a
Paddle the user already has (AI Studio ships paddlepaddle-gpu), and ppgan 2.1.0's own pins do
not install on Python 3.11. ``tools/install_deps.py`` (``make setup``) installs both correctly.
"""
from setuptools import find_packages, setup

# What ppgan 2.1.0 really imports (its declared pins are not installable on Python 3.11), plus ours.
REQUIRES = [
    "numpy", "scipy", "scikit-image", "tqdm", "PyYAML", "imageio", "easydict", "munch", "natsort",
    "matplotlib", "requests", "six",
]

setup(
    name="ppgan-stylegan",
    version="0.1.0",
    description="A complete, correct and fast StyleGAN2 for PaddleGAN (ppgan) on current Paddle",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ppgan_stylegan", "ppgan_stylegan.*"]),
    python_requires=">=3.8",
    install_requires=REQUIRES,
    # optional features, each an extra (`make setup` / `make test` install them all: tools/install_deps.py)
    extras_require={"test": ["pytest", "pytest-timeout", "import-linter", "selenium"], "visualdl": ["visualdl"], "lmdb": ["lmdb"],
                    "onnx": ["paddle2onnx", "onnxruntime"], "video": ["imageio-ffmpeg"],
                    "app": ["gradio"]},
    entry_points={"console_scripts": ["ppgan-stylegan = ppgan_stylegan.cli:main"]},
    license="Apache-2.0",
)
