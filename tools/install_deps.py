#!/usr/bin/env python
"""Install ppgan-stylegan and what it needs into the *current* Python environment.

    python tools/install_deps.py                  # what `make setup` runs inside .venv
    python tools/install_deps.py --no-test        # skip the test requirements
    python tools/install_deps.py --paddle 2.6.2   # the CPU wheel to install when no Paddle is importable
    python tools/install_deps.py --write-constraints   # refresh constraints.txt from this environment

Rules (see README, "Install"):
* Paddle: if any Paddle is importable (e.g. AI Studio's paddlepaddle-gpu) it is kept as is;
  only when none is importable the CPU wheel ``paddlepaddle==PADDLE_CPU_VERSION`` is installed.
* ppgan 2.1.0 is installed last, with ``--no-deps`` (its pins do not install on Python 3.11); the
  modules it really imports come from this package's install_requires. pip's conflict report about
  those pins is replaced by one line of ours; any other conflict ``pip check`` finds is printed.
* OpenCV: ``opencv-python-headless`` only when no ``cv2`` is importable.
* This package in editable mode, with every extra (the test requirements and the optional features: VisualDL).
* Versions: every install is constrained by ``constraints.txt`` (the versions the suite passed on), except
  Paddle itself and, when a Paddle was already installed, the packages that Paddle depends on.
  Refresh it after a green ``make test`` with ``--write-constraints`` (``make constraints``).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata

PADDLE_CPU_VERSION = "3.3.1"
PPGAN_VERSION = "2.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONSTRAINTS = os.path.join(ROOT, "constraints.txt")
PADDLE_DISTS = ("paddlepaddle", "paddlepaddle-gpu")
NOT_PINNED = {"pip", "setuptools", "wheel", "ppgan-stylegan", *PADDLE_DISTS}
EXTRAS = ("test", "visualdl", "lmdb", "onnx", "video", "app")  # setup.py's extras: the test requirements and every optional feature


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec):
    return canonical(re.match(r"\s*([A-Za-z0-9._-]+)", spec).group(1))


def installed_paddle():
    for dist in PADDLE_DISTS:
        try:
            return metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            pass
    return None


def constraint_args(keep_paddle_deps):
    """``-c FILE`` for pip: constraints.txt, less what an already installed Paddle depends on."""
    if not os.path.isfile(CONSTRAINTS):
        return []
    with open(CONSTRAINTS) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    paddle = installed_paddle() if keep_paddle_deps else None
    if paddle is not None:
        theirs = {requirement_name(spec) for spec in paddle.requires or []}
        lines = [line for line in lines if requirement_name(line) not in theirs]
    handle, path = tempfile.mkstemp(prefix="ppgan-stylegan-constraints-", suffix=".txt")
    with os.fdopen(handle, "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["-c", path]


def write_constraints():
    """constraints.txt = the installed versions of everything this package (with its test extras), ppgan and
    Paddle pull in, transitively; Paddle itself is never pinned."""
    from packaging.requirements import Requirement
    roots = ["ppgan", "opencv-python-headless", *PADDLE_DISTS]
    pinned, todo = {}, [("ppgan-stylegan", set(EXTRAS))] + [(name, set()) for name in roots]
    while todo:
        name, extras = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. ppgan's impossible pins (numba, librosa): not installed, not pinned
        key = canonical(dist.metadata["Name"])
        if key in pinned:
            continue
        pinned[key] = dist.version
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                todo.append((req.name, set(req.extras)))
    lines = [f"{name}=={version}" for name, version in sorted(pinned.items()) if name not in NOT_PINNED]
    with open(CONSTRAINTS, "w") as f:
        f.write("# Versions the test suite passed on (tools/install_deps.py --write-constraints, after `make test`).\n"
                f"# Python {sys.version.split()[0]}; Paddle is never pinned here.\n" + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} pins to {CONSTRAINTS}")


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
    parser.add_argument("--no-test", action="store_true",
                        help="do not install the test requirements and optional features (setup.py's extras)")
    parser.add_argument("--paddle", default=PADDLE_CPU_VERSION, metavar="VERSION",
                        help="paddlepaddle (CPU) version to install when no Paddle is importable (default %(default)s)")
    parser.add_argument("--write-constraints", action="store_true",
                        help="write constraints.txt from this environment's versions and exit")
    args = parser.parse_args()
    if args.write_constraints:
        return write_constraints()

    had_paddle = importable("paddle")
    constraints = constraint_args(keep_paddle_deps=had_paddle)
    if had_paddle:
        print(f"Paddle already installed ({installed_version('paddlepaddle') or installed_version('paddlepaddle-gpu')}"
              "): keeping it", flush=True)
    else:
        print("No Paddle importable: installing the CPU wheel", flush=True)
        pip(*constraints, f"paddlepaddle=={args.paddle}")
    if not importable("cv2"):
        pip(*constraints, "opencv-python-headless")
    pip(*constraints, "-e", ROOT + ("" if args.no_test else f"[{','.join(EXTRAS)}]"))
    if installed_version("ppgan") != PPGAN_VERSION:
        pip("--no-deps", f"ppgan=={PPGAN_VERSION}")
    report_conflicts()
    print("ppgan-stylegan installed into", sys.prefix, flush=True)


if __name__ == "__main__":
    main()
