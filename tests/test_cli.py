"""The ppgan-stylegan command: every subcommand has help, user errors are one line, bugs keep their traceback."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import run_script
from ppgan_stylegan import cli
from ppgan_stylegan.data import prepare

SUBCOMMANDS = ["train", "generate", "mix", "project", "edit", "encode", "convert", "export", "metrics", "prepare",
               "demo", "benchmark"]


@pytest.mark.slow
def test_help_lists_every_subcommand():
    exe = shutil.which("ppgan-stylegan", path=os.path.dirname(sys.executable))
    assert exe, "the console entry point is installed with the package"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in SUBCOMMANDS:
        assert f"    {name}" in out.stdout, name
    assert list(cli.COMMANDS) == SUBCOMMANDS


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: ppgan-stylegan {name}") and "--debug" in text


def test_user_error_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["prepare", "--src", str(tmp_path / "missing"), "--dst", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --src {str(tmp_path / 'missing')!r} is not a folder"]
    assert not (tmp_path / "out").exists()


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(src, dst, size):
        raise KeyError("a bug, not a user error")
    monkeypatch.setattr(prepare, "prepare_folder", broken)
    monkeypatch.setattr(cli.prepare, "prepare_folder", broken)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["prepare", "--src", str(tmp_path), "--dst", str(tmp_path / "out")])


@pytest.mark.slow
def test_scripts_are_the_subcommands(tmp_path):
    """tools/ and applications/ scripts run the same code as the subcommands (same help, same errors)."""
    for script, name in [("tools/main.py", "train"), ("applications/style_mixing.py", "mix")]:
        out = run_script(script, "--help", timeout=120)
        assert out.returncode == 0 and out.stdout.startswith(f"usage: ppgan-stylegan {name}"), out.stdout[:200]
    out = run_script("tools/main.py", "-c", str(tmp_path / "none.yaml"), timeout=120)
    missing = str(tmp_path / "none.yaml")
    assert out.returncode == 2 and out.stderr.strip() == f"error: config file {missing!r} does not exist"
