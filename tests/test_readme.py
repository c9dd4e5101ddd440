"""The README's (and docs/') commands, as written.

Every ```bash block of README.md and docs/*.md runs, in order, in a scratch folder that holds this repository's
configs / tools / applications, with ``PPGAN_STYLEGAN_QUICK=1`` (``core.quick``: training, projection and metrics
shortened, as the README says). A block preceded by ``<!-- readme-test: skip: <why> -->`` is not run (it needs
GPUs, your own files, or several minutes), but each of its commands must still parse: the subcommand and its flags
through our argument parser, and every repository file it names must exist. So a README that drifts from the code
fails here.
"""
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md"))
SKIP = re.compile(r"<!--\s*readme-test:\s*skip:\s*(.+?)\s*-->")
SCRIPTS = {"tools/main.py": "train", "tools/demo.py": "demo", "tools/export.py": "export",
           "tools/metrics.py": "metrics", "tools/prepare_dataset.py": "prepare", "tools/convert_weights.py": "convert",
           "tools/benchmark.py": "benchmark", "applications/generate.py": "generate",
           "applications/style_mixing.py": "mix", "applications/project.py": "project",
           "applications/edit.py": "edit", "applications/encode.py": "encode"}
SHARED = ("configs", "tools", "applications", "docs")


def bash_blocks(doc):
    """[(first line number, text, skip reason or None)] of the ```bash blocks of ``doc``."""
    lines = open(os.path.join(ROOT, doc)).read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            match = SKIP.search(before)
            blocks.append((i + 1, "\n".join(lines[i + 1:j]), match.group(1) if match else None))
            i = j
        i += 1
    return blocks


def commands(text):
    """The shell commands of a block as word lists: continuation lines joined, comments dropped, split at
    ``&&`` / ``;`` / ``|`` (outside quotes); ``<placeholders>`` kept as words."""
    joined = re.sub(r"\\\n\s*", " ", text).replace("<", "_").replace(">", "_")
    out = []
    for line in joined.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split, lexer.commenters = True, "#"
        words = []
        for token in list(lexer) + [";"]:
            if token and set(token) <= set(";&|"):
                if words:
                    out.append(words)
                words = []
            else:
                words.append(token)
    return out


def our_invocation(words):
    """(subcommand, its arguments) when the command ``words`` runs one of our tools, else None."""
    if words[:1] == ["ppgan-stylegan"] and len(words) > 1:
        return words[1], words[2:]
    for k, word in enumerate(words):
        if word in SCRIPTS:
            return SCRIPTS[word], words[k + 1:]
    return None


def all_blocks():
    return [(doc, line, text, skip) for doc in DOCS for line, text, skip in bash_blocks(doc)]


def test_the_docs_have_command_blocks_and_skips_say_why():
    blocks = all_blocks()
    assert len([b for b in blocks if b[0] == "README.md" and b[3] is None]) >= 8
    for doc, line, text, skip in blocks:
        assert skip is None or len(skip) > 10, f"{doc}:{line}: say why the block is not run"


@pytest.mark.parametrize("doc, line, text, skip", [b for b in all_blocks() if b[3]],
                         ids=[f"{b[0]}:{b[1]}" for b in all_blocks() if b[3]])
def test_commands_of_skipped_blocks_parse(doc, line, text, skip):
    from ppgan_stylegan.cli import build_parser
    parser = build_parser()
    for words in commands(text):
        found = our_invocation(words)
        if found:
            sub, args = found
            try:
                parser.parse_args([sub, *args])
            except SystemExit:
                pytest.fail(f"{doc}:{line}: `{' '.join(words)}` does not parse")
        for word in words:
            if word.startswith(("configs/", "tools/", "applications/")):
                assert os.path.exists(os.path.join(ROOT, word)), f"{doc}:{line}: {word} does not exist"


def scratch_clone(path):
    """A folder that looks like a fresh clone to the commands (the repository's files, linked)."""
    for name in SHARED + ("README.md", "Makefile"):
        os.symlink(os.path.join(ROOT, name), os.path.join(path, name))
    return path


def test_readme_commands_run_as_written(tmp_path):
    """README.md, then docs/*.md: every block not marked skip runs without error, in order, in one folder."""
    cwd = scratch_clone(tmp_path)
    env = dict(os.environ, PPGAN_STYLEGAN_QUICK="1",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    ran = 0
    for doc, line, text, skip in all_blocks():
        if skip:
            continue
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=cwd, env=env, capture_output=True,
                             text=True, timeout=900)
        assert out.returncode == 0, (f"{doc}:{line} failed (exit {out.returncode}):\n{text}\n--- stdout\n"
                                     f"{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-3000:]}")
        ran += 1
    assert ran >= 8
