"""The errors a user can cause (command lines print them in one line, exit 2) and storage failures (one line,
exit 4); anything else is a bug and keeps its traceback."""
import errno


class UserError(Exception):
    """A problem with what the user gave us (a file, a flag, a value): reported in one line, no traceback."""


class ConfigError(UserError, ValueError):
    """A value that cannot work (a config entry, an argument): reported in one line, before any work where possible."""


class NonFiniteLossError(RuntimeError):
    """Training losses stayed non-finite for ``max_nonfinite`` iterations in a row (and rollbacks, if any, did not
    help): the run stops with one line (exit 3), its checkpoints as they were."""


class RankLostError(RuntimeError):
    """Another rank of a multi-process run is gone (killed, out of memory, its machine lost): this rank stops with
    one line naming it (exit 5) instead of the collective's traceback; the checkpoints stay as they were."""


class StorageError(Exception):
    """Writing failed (no space, quota, read-only or vanished folder, file size limit): reported in one line naming
    the file and the cause, with its own exit code; what was on disk before stays as it was."""


STORAGE_ERRNOS = {"ENOSPC", "EDQUOT", "EROFS", "EFBIG", "EIO", "ENOENT", "EACCES", "EPERM", "ESTALE"}


def storage_error(error, doing):
    """A ``StorageError`` for an ``OSError`` raised while ``doing`` something, or None when it is not about storage."""
    names = {getattr(errno, name) for name in STORAGE_ERRNOS if hasattr(errno, name)}
    if not isinstance(error, OSError) or error.errno not in names:
        return None
    where = error.filename or "a file"
    return StorageError(f"{where}: {error.strerror or error} (while {doing})")


def last_line(error, limit=200):
    """The last non-empty line of ``error``'s text (Paddle's errors end in the useful one), at most ``limit``
    characters; the exception's type name when it has no text."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:limit] if lines else type(error).__name__
