"""The package's layering (.importlinter, docs/architecture.md) holds, and the check catches a violation."""
import ast
import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

LINT = os.path.join(os.path.dirname(sys.executable), "lint-imports")
PACKAGE = os.path.join(ROOT, "ppgan_stylegan")


def lint(root):
    """Run import-linter with the repo's contracts on the package found under ``root``."""
    env = dict(os.environ, PYTHONPATH=root)
    return subprocess.run([LINT, os.path.join(ROOT, ".importlinter"), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_layers_are_kept():
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


@pytest.mark.parametrize("module, upward, edge", [
    # the foundation reaching for an application
    ("core/errors.py", "from ..apps import base", "core.errors -> ppgan_stylegan.apps.base"),
    # a network block importing a loss
    ("networks/blocks.py", "from ..losses import gan", "networks.blocks -> ppgan_stylegan.losses.gan"),
    # sideways between independent siblings
    ("metrics/swd.py", "from ..data import datasets", "metrics.swd -> ppgan_stylegan.data.datasets"),
    # inside networks: a shared block importing the layer above it
    ("networks/irse.py", "from .loading import load_generator", "networks.irse -> ppgan_stylegan.networks.loading"),
])
def test_an_upward_import_breaks_the_check(tmp_path, module, upward, edge):
    shutil.copytree(PACKAGE, tmp_path / "ppgan_stylegan", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "ppgan_stylegan" / module, "a") as f:
        f.write(f"\n{upward}  # noqa\n")
    out = lint(str(tmp_path))
    assert out.returncode != 0 and "BROKEN" in out.stdout, out.stdout[-3000:]
    assert f"ppgan_stylegan.{edge} (l." in out.stdout, out.stdout[-3000:]


def test_no_lazy_imports_of_our_own_modules():
    """Imports of the package's own modules sit at module level, where the layering check sees them."""
    lazy = []
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
        tree = ast.parse(open(path).read())
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith(
                            "ppgan_stylegan")):
                        lazy.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}")
    assert not lazy, lazy


def test_scripts_are_thin_wrappers_without_path_hacks():
    scripts = glob.glob(os.path.join(ROOT, "tools", "*.py")) + glob.glob(os.path.join(ROOT, "applications", "*.py"))
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True) + scripts:
        assert "sys.path.insert" not in open(path).read(), path
    for path in scripts:
        if os.path.basename(path) == "install_deps.py":  # runs before the package is installed
            continue
        body = ast.parse(open(path).read()).body  # docstring, the import, one call
        assert [type(node).__name__ for node in body] == ["Expr", "ImportFrom", "Expr"], path
        assert body[1].module == "ppgan_stylegan.cli" and body[2].value.func.id == "run_script", path
