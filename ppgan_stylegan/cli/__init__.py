"""The ppgan-stylegan command: one subcommand per tool.

Each subcommand is a module of this package with ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> exit code``; the logic lives in ``ppgan_stylegan.apps`` (and ``data.prepare``). The
PaddleGAN-style scripts (``tools/main.py``, ``applications/*.py``) call ``main`` with their subcommand.
Errors the user caused (``UserError``) are printed in one line with exit code 2, failed writes
(``StorageError``: no space, quota, read-only or vanished folder) in one line with exit code 4 (``--debug``
adds the traceback); any other exception is a bug and keeps its traceback.
"""
import argparse
import sys
import traceback

from ..core.errors import StorageError, UserError, storage_error
from . import (app, benchmark, blend, convert, demo, doctor, edit, encode, export, generate, metrics, mix, prepare,
               project, train)
from .common import HelpFormatter, discard_empty_run, finish_run

COMMANDS = {"train": train, "generate": generate, "mix": mix, "project": project, "edit": edit, "encode": encode,
            "convert": convert, "export": export, "metrics": metrics, "prepare": prepare, "demo": demo,
            "benchmark": benchmark, "doctor": doctor, "app": app, "blend": blend}
EXIT_USER_ERROR = 2
EXIT_STORAGE = 4  # (3: training stopped on non-finite losses; 5: a rank of a multi-process run was lost)


def build_parser():
    parser = argparse.ArgumentParser(prog="ppgan-stylegan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__, formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
        p.add_argument("--verbose", action="store_true",
                       help="keep Paddle's C++ log lines and warnings (silenced by default)")
        p.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        try:
            code = args.run(args) or 0
        except OSError as e:  # a write that failed (no space, quota, read-only or vanished folder): one line
            failure = storage_error(e, f"running {args.command}")
            if failure is None:
                raise
            raise failure from e
        if code == 0:
            finish_run(args)
        return code
    except (StorageError, UserError) as e:
        discard_empty_run(args)
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return EXIT_STORAGE if isinstance(e, StorageError) else EXIT_USER_ERROR


def run_script(command):
    """Entry of the PaddleGAN-style scripts: ``tools/main.py ARGS`` is ``ppgan-stylegan train ARGS``."""
    sys.exit(main([command, *sys.argv[1:]]))
