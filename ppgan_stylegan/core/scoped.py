"""Switches that hold within a ``with`` block (double backward, the polyphase path, mixed precision)."""
import contextlib


@contextlib.contextmanager
def scoped_setting(holder, name, value):
    """``holder.name = value`` inside the block, the previous value (or its absence) restored after it."""
    missing = object()
    previous = getattr(holder, name, missing)
    setattr(holder, name, value)
    try:
        yield
    finally:
        if previous is missing:
            delattr(holder, name)
        else:
            setattr(holder, name, previous)
