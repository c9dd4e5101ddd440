"""Weight files as dicts: reading them (Paddle's or ppgan's pickle format), checking them against a network,
turning their arrays into tensors. What a file holds (generator, encoder, checkpoint) is
``ppgan_stylegan.networks.loading``'s business."""
import contextlib
import os
import zipfile

import numpy as np
import paddle

from .errors import UserError
from .pickles import is_torch_legacy, read_paddle, read_torch


def _convert_first(path, what):
    return UserError(f"{path}: {what}: convert it first with "
                     f"`ppgan-stylegan convert --src {path} --dst <file>.pdparams` (tools/convert_weights.py)")


def load_state(path):
    """Dict (of numpy arrays) from a .pdparams / .pdopt / checkpoint file in Paddle's or ppgan's (pickle) format,
    read without running anything from the file (``core.pickles.read_paddle``): the one reader of Paddle files."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if path.endswith(".pkl"):
        raise _convert_first(path, "an NVIDIA network pickle")
    if zipfile.is_zipfile(path) or is_torch_legacy(path):  # torch.save's formats: read safely (a hostile
        read_torch(path)  # one is refused by name) and not used
        raise _convert_first(path, "a PyTorch checkpoint, not a Paddle weight file")
    state = read_paddle(path)
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a dict of weights, got {type(state).__name__}")
    return state


@contextlib.contextmanager
def paddle_load_is_ours():
    """Within: ``paddle.load`` reads through ``load_state`` (for ppgan's code that loads a user's file itself, e.g.
    its LPIPS and VGG classes); restored after."""
    original = getattr(paddle, "load")
    setattr(paddle, "load", lambda path, **configs: load_state(path))
    try:
        yield
    finally:
        setattr(paddle, "load", original)


def check_fit(net, state, path="weights", ignore=("w_avg",), what="the generator", strict=False):
    """Raise a UserError listing the first mismatching keys/shapes when ``state`` does not fit ``net``; with
    ``strict`` also tensors of the file that ``net`` has no place for (a larger network's layers, which loading
    would drop)."""
    expected = {k: list(v.shape) for k, v in net.state_dict().items()}
    bad = [(k, list(v.shape), expected.get(k)) for k, v in state.items()
           if hasattr(v, "shape") and expected.get(k) is not None and list(v.shape) != expected[k]]
    missing = [k for k in expected if k not in state and not k.startswith(tuple(ignore))]
    extra = [k for k in state if strict and k not in expected and not k.startswith(tuple(ignore))]
    if bad or missing or extra:
        detail = "; ".join(f"{k}: file {s} vs model {e}" for k, s, e in bad[:3]) or (
            f"missing {missing[:3]}" if missing else f"{len(extra)} tensors of the file have no place, e.g. {extra[:3]}")
        raise UserError(f"{path}: weights do not fit {what} ({detail})")


def to_tensors(state):
    return {k: v if isinstance(v, paddle.Tensor) else paddle.to_tensor(np.asarray(v)) for k, v in state.items()}


def settable(state):
    """``state`` as ``set_state_dict`` takes it without an extra copy: tensors and arrays as they are, anything else
    (a Python number) as an array."""
    return {k: v if isinstance(v, (paddle.Tensor, np.ndarray)) else np.asarray(v) for k, v in state.items()}


def load_into(net, state, path="weights", ignore=("w_avg",), what="the generator", strict=False):
    """``check_fit`` then ``set_state_dict``: the one way a file's weights enter a network."""
    check_fit(net, state, path, ignore, what, strict)
    net.set_state_dict(settable(state))
    return net
