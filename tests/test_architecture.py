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


FAMILY_HOMES = ("networks/families/", "networks/generators/", "networks/discriminators/")


def _family_key_markers():
    """Every state-dict key of each family's generator and discriminator that names a path (has a dot), and each of
    its leading parts (``convs.``, ``convs.0.``): what only the family table may test."""
    from ppgan_stylegan.networks.families import FAMILIES
    keys = set()
    for family in FAMILIES:
        for net in (family.generator(size=8, style_dim=8, n_mlp=1), family.discriminator(size=8)):
            keys.update(k for k in net.state_dict() if "." in k)
    prefixes = {".".join(k.split(".")[:i]) + "." for k in keys for i in range(1, k.count(".") + 1)}
    return keys | prefixes


def _strings(tree):
    """String constants of a module, docstrings left out (f-strings: their literal parts)."""
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs]


def test_only_the_family_table_tests_family_keys():
    """Loading, conversion, training and the applications ask ``networks.families``; none of them looks for a
    family's state-dict keys itself (a new family is one row plus its modules)."""
    markers = _family_key_markers()
    assert {"convs.", "from_rgbs.0.conv.weight", "layers.0.style.weight", "input.input"} <= markers
    found = []
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
        rel = os.path.relpath(path, PACKAGE)
        if rel.startswith(FAMILY_HOMES):
            continue
        for line, text in _strings(ast.parse(open(path).read())):
            if text in markers or any(text.startswith(m) for m in markers if m.endswith(".")):
                found.append(f"{rel}:{line}: {text!r}")
    assert not found, found


def test_the_family_key_check_catches_a_key_test(tmp_path):
    markers = _family_key_markers()
    tree = ast.parse('def f(state):\n    """from_rgbs.0.conv.weight in a docstring is fine"""\n'
                     '    return "from_rgbs.0.conv.weight" in state or any(k.startswith(f"convs.{1}.") for k in state)\n')
    texts = [t for _, t in _strings(tree)]
    assert "from_rgbs.0.conv.weight" in texts and "convs." in texts and all("docstring" not in t for t in texts)
    assert all(t in markers for t in ("from_rgbs.0.conv.weight", "convs."))


MAX_FUNCTION_LINES = 60


def test_functions_stay_short():
    """Functions read in one sitting (guide: aim for 60 lines, none longer)."""
    long = []
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{os.path.relpath(path, ROOT)}:{node.lineno} {node.name}: {lines} lines")
    assert not long, long
