"""The errors a user can cause. Command lines print them in one line (exit 2); anything else is a bug and
keeps its traceback."""


class UserError(Exception):
    """A problem with what the user gave us (a file, a flag, a value): reported in one line, no traceback."""


class ConfigError(UserError, ValueError):
    """A value that cannot work (a config entry, an argument): reported in one line, before any work where possible."""
