"""Counting host <-> device traffic while code runs: what makes a GPU wait (tests, ``ppgan-stylegan doctor``).

Every way a tensor's value reaches Python (``numpy``, ``bool``, ``float``, ``int``, ``item``, ``tolist``, ...) is
a device -> host synchronisation on a GPU; ``paddle.to_tensor`` is a host -> device copy. The counters wrap those
methods while a block runs (nested calls, e.g. ``bool`` -> ``numpy``, count once).
"""
import collections
import contextlib

import paddle

READS = ("numpy", "__bool__", "__float__", "__int__", "__index__", "item", "tolist", "__array__")


@contextlib.contextmanager
def count_host_reads():
    """Counter of device -> host reads of tensor values (outermost calls only) while the block runs."""
    counts, depth, saved = collections.Counter(), [0], {}

    def wrap(name, method):
        def counted(self, *args, **kwargs):
            if depth[0] == 0:
                counts[name] += 1
            depth[0] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1
        return counted

    for name in READS:
        if hasattr(paddle.Tensor, name):
            saved[name] = getattr(paddle.Tensor, name)
            setattr(paddle.Tensor, name, wrap(name, saved[name]))
    try:
        yield counts
    finally:
        for name, method in saved.items():
            setattr(paddle.Tensor, name, method)


@contextlib.contextmanager
def count_uploads():
    """Counter of ``paddle.to_tensor`` calls (host -> device copies on a GPU) while the block runs."""
    counts, original = collections.Counter(), paddle.to_tensor

    def counted(*args, **kwargs):
        counts["to_tensor"] += 1
        return original(*args, **kwargs)
    paddle.to_tensor = counted
    try:
        yield counts
    finally:
        paddle.to_tensor = original
