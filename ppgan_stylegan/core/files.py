"""Atomic file writes: ``path`` always holds either its old content or the complete new one.

The new content goes to ``.<name>.tmp-<pid>`` beside the target, is flushed and fsynced, then renamed over
the target (and the folder fsynced); a failure leaves the target untouched and removes the temporary.
A process killed mid-write leaves only a ``.tmp-<pid>`` file, which ``is_stale_temporary`` recognises.
"""
import json
import os


def temporary_name(path):
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.tmp-{os.getpid()}")


def is_stale_temporary(name, pid=None):
    """True for a temporary left by another process's interrupted ``atomic_write``."""
    return name.startswith(".") and ".tmp-" in name and not name.endswith(f".tmp-{pid or os.getpid()}")


def atomic_write(path, write):
    """``write(tmp_path)`` fills a temporary file, which then replaces ``path``. Returns ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = temporary_name(path)
    try:
        try:
            write(tmp)
            with open(tmp, "rb+") as f:
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            dir_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:  # name the file being written (a failed write() carries no file name)
            if e.errno is None or e.filename == path:
                raise
            raise OSError(e.errno, e.strerror, path) from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(obj, path, **kwargs):
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, **kwargs)
    return atomic_write(path, write)
