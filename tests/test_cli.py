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
               "demo", "benchmark", "doctor", "app", "blend"]


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


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_flag_is_described_with_its_default(name):
    """Each flag has a help text; one with a default (not None / off) shows it in --help."""
    parser = cli.build_parser()
    sub = parser._subparsers._group_actions[0].choices[name]
    text = sub.format_help()
    for action in sub._actions:
        if action.help == "==SUPPRESS==" or not action.option_strings:
            continue
        assert action.help and len(action.help) > 8, (name, action.option_strings)
        off = action.default is None or action.default is False or action.default in ([], "==SUPPRESS==")
        if not off and action.dest != "help":  # (a default of 0 is a default to show)
            # whitespace ignored: argparse wraps long defaults, also at a hyphen in a path (/tmp/fresh-123/...)
            assert "".join(f"(default: {action.default})".split()) in "".join(text.split()), \
                (name, action.option_strings)


def test_command_specific_help_texts():
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    weights = {name: next(a.help for a in choices[name]._actions if "--weights" in a.option_strings)
               for name in ("encode", "generate")}
    assert "pSp" not in weights["generate"] and "encoder" in weights["encode"]


def test_quiet_only_at_our_command_lines(tmp_path):
    from ppgan_stylegan.core import runtime
    tools = os.path.join(cli.__file__.rsplit("ppgan_stylegan", 1)[0], "tools", "main.py")
    for argv, orig, ours in [(["/usr/bin/ppgan-stylegan", "train"], [], True), ([tools, "-c", "x"], [], True),
                             (["-m"], ["python", "-m", "ppgan_stylegan.cli", "edit"], True),
                             (["/home/me/train.py"], [], False), (["-c"], ["python", "-c", "import x"], False)]:
        assert runtime.started_by_our_command(argv, orig) is ours, argv
        env = {}
        assert bool(runtime.quiet_command_line(env, argv, orig)) is ours and (env == {"GLOG_minloglevel": "2"}) is ours
    env = {}
    assert runtime.quiet_command_line(env, ["/usr/bin/ppgan-stylegan", "export", "--verbose"], []) == {} and not env
    env = {"GLOG_minloglevel": "0"}  # the user's value wins
    runtime.quiet_command_line(env, ["/usr/bin/ppgan-stylegan", "export"], [])
    assert env == {"GLOG_minloglevel": "0"}


@pytest.mark.slow
def test_a_command_is_quiet_and_verbose_brings_paddle_back(tmp_path):
    """export runs Paddle's static graph, which logs C++ lines and warns: none of it by default."""
    from ppgan_stylegan import StyleGAN2Generator
    import paddle
    path = str(tmp_path / "g.pdparams")
    paddle.save({"gen_ema": StyleGAN2Generator(8, style_dim=8, n_mlp=1, channel_max=8).state_dict()}, path)
    quiet = run_script("tools/export.py", "--weights", path, "--check-seeds", "0", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr[-2000:]
    loud = run_script("tools/export.py", "--weights", path, "--check-seeds", "0", "--verbose", cwd=tmp_path)
    assert loud.returncode == 0 and ("Warning" in loud.stderr or "] " in loud.stderr), loud.stderr[-2000:]


def test_user_error_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli.main(["prepare", "--src", str(tmp_path / "missing"), "--dst", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: --src {str(tmp_path / 'missing')!r} is not a folder"]
    assert not (tmp_path / "out").exists()


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
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
