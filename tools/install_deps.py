#!/usr/bin/env python
"""Install ppgan-stylegan and what it needs into the *current* Python environment.

    python tools/install_deps.py                  # what `make setup` runs inside .venv
    python tools/install_deps.py --no-test        # skip the test requirements
    python tools/install_deps.py --paddle 2.6.2   # the CPU wheel to install when no Paddle is importable

Rules (see README, "Install"):
* Paddle: if any Paddle is importable (e.g. AI Studio's paddlepaddle-gpu) it is kept as is;
  only when none is importable the CPU wheel ``paddlepaddle==PADDLE_CPU_VERSION`` is installed.
* ppgan 2.1.0 is installed last, with ``--no-deps`` (its pins do not install on Python 3.11); the
  modules it really imports come from this package's install_requires. pip's conflict report about
  those pins is replaced by one line of ours; any other conflict ``pip check`` finds is printed.
* OpenCV: ``opencv-python-headless`` only when no ``cv2`` is importable.
* This package in editable mode.
"""
import argparse
import os
import subprocess
import sys

PADDLE_CPU_VERSION = "3.3.1"
PPGAN_VERSION = "2.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def importable(module):
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def installed_version(dist):
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def pip(*args):
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-warn-conflicts", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def report_conflicts():
    """``pip check``, less ppgan's own impossible pins (explained in one line instead)."""
    out = subprocess.run([sys.executable, "-m", "pip", "check", "--disable-pip-version-check"], capture_output=True,
                         text=True)
    lines = [line for line in out.stdout.splitlines() if line.strip() and "No broken requirements" not in line]
    ours = [line for line in lines if line.lower().startswith(f"ppgan {PPGAN_VERSION} ")]
    if ours:
        print(f"note: ppgan {PPGAN_VERSION} is installed without its declared dependencies ({len(ours)} pins such as "
              "numba==0.53.1 and librosa==0.8.1 cannot install on this Python); what it really imports is "
              "installed with this package", flush=True)
    for line in lines:
        if line not in ours:
            print(f"warning: {line}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-test", action="store_true", help="do not install the test requirements")
    parser.add_argument("--paddle", default=PADDLE_CPU_VERSION, metavar="VERSION",
                        help="paddlepaddle (CPU) version to install when no Paddle is importable (default %(default)s)")
    args = parser.parse_args()

    if importable("paddle"):
        print(f"Paddle already installed ({installed_version('paddlepaddle') or installed_version('paddlepaddle-gpu')}"
              "): keeping it", flush=True)
    else:
        print("No Paddle importable: installing the CPU wheel", flush=True)
        pip(f"paddlepaddle=={args.paddle}")
    if not importable("cv2"):
        pip("opencv-python-headless")
    pip("-e", ROOT + ("" if args.no_test else "[test]"))
    if installed_version("ppgan") != PPGAN_VERSION:
        pip("--no-deps", f"ppgan=={PPGAN_VERSION}")
    report_conflicts()
    print("ppgan-stylegan installed into", sys.prefix, flush=True)


if __name__ == "__main__":
    main()
