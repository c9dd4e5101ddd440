"""Run folders: where every command writes, so that no two invocations write the same file.

Each invocation gets its own folder ``<root>/<prefix>-<date-time>`` (``-2``, ``-3`` ... when that name is
taken in the same second), or ``<root>/<name>`` when the user names it (an existing, non-empty one only with
``overwrite``). ``<root>/<prefix>-latest`` is then a symbolic link to the newest run of that prefix, so a
later command can refer to it without knowing the time stamp; ``--weights`` / ``--resume`` also take a run
folder and use the newest weight file / checkpoint in it.
"""
import os
import re
import time

from .errors import UserError

LATEST = "-latest"
ITER_FILE = re.compile(r"^iter_(\d+)_(weight|checkpoint)\.pdparams$")


def stamp():
    return time.strftime("%Y-%m-%d-%H-%M-%S")


def writable_folder(root, option="--outdir"):
    """Create ``root`` if needed and write a probe file in it (``os.access`` says yes to root on a read-only mount),
    or fail with one line naming ``option`` before any work."""
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as e:
        raise UserError(f"{option} {root!r}: cannot create ({e.strerror})")
    probe = os.path.join(root, f".write-test-{os.getpid()}")
    try:
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise UserError(f"{option} {root!r}: not writable ({e.strerror})")
    return root


def output_file(path, option="--dst"):
    """A file the command will write: a path that is a folder is a one-line error before any work."""
    if path and os.path.isdir(path):
        raise UserError(f"{option} {path}: is a folder; expected the path of a file to write")
    return path


def free_name(root, prefix):
    """``<prefix>-<date-time>``, or with ``-2``, ``-3`` ... when that folder exists (several runs in a second)."""
    base = f"{prefix}-{stamp()}"
    name, k = base, 1
    while os.path.lexists(os.path.join(root, name)):
        k += 1
        name = f"{base}-{k}"
    return name


def new_run_folder(root, prefix, name=None, overwrite=False, option="--outdir", link=True):
    """Create (and return) this invocation's folder under ``root``; point ``<root>/<prefix>-latest`` at it."""
    writable_folder(root, option)
    if name:
        if os.sep in name or name in (".", "..") or name.endswith(LATEST):
            raise UserError(f"--name {name!r}: a plain folder name is expected (not a path, not '*{LATEST}')")
        folder = os.path.join(root, name)
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise UserError(f"--name {name!r}: {folder} exists and is not a folder")
        if os.path.isdir(folder) and os.listdir(folder) and not overwrite:
            raise UserError(f"--name {name!r}: {folder} exists and is not empty (another name, or --overwrite)")
        os.makedirs(folder, exist_ok=True)
    else:
        while True:  # exist_ok=False: two processes starting in the same second get different folders
            folder = os.path.join(root, free_name(root, prefix))
            try:
                os.makedirs(folder)
                break
            except FileExistsError:
                continue
    if link:
        point_latest(root, prefix, folder)
    return folder


def point_latest(root, prefix, folder):
    """``<root>/<prefix>-latest`` -> ``folder`` (relative link, replaced atomically; skipped where the file
    system has no symbolic links)."""
    path = os.path.join(root, prefix + LATEST)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        if os.path.lexists(path) and not os.path.islink(path):
            return  # a real folder of that name: leave it alone
        os.symlink(os.path.relpath(os.path.realpath(folder), os.path.realpath(root)), tmp)
        os.replace(tmp, path)
    except OSError:
        if os.path.lexists(tmp):
            os.remove(tmp)


def newest_iteration_file(folder, kind):
    """The ``iter_N_<kind>.pdparams`` with the largest N in ``folder`` (None when there is none)."""
    found = []
    for entry in os.listdir(folder):
        match = ITER_FILE.match(entry)
        if match and match.group(2) == kind:
            found.append((int(match.group(1)), entry))
    return os.path.join(folder, max(found)[1]) if found else None


def resolve_weights(path, option="--weights", kinds=("weight", "checkpoint")):
    """A file stays as it is; a run folder (or a ``*-latest`` link) becomes its newest weight file (then
    checkpoint, per ``kinds``)."""
    if not path or not os.path.isdir(path):
        return path
    for kind in kinds:
        found = newest_iteration_file(path, kind)
        if found:
            return found
    wanted = " or ".join(f"iter_N_{kind}.pdparams" for kind in kinds)
    raise UserError(f"{option} {path}: a folder without {wanted}")
