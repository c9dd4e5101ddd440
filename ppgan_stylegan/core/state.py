"""Weight files as dicts: reading them (Paddle's or ppgan's pickle format), checking them against a network,
turning their arrays into tensors. What a file holds (generator, encoder, checkpoint) is
``ppgan_stylegan.networks.loading``'s business."""
import os

import numpy as np
import paddle
from ppgan.utils.filesystem import load as ppgan_load

from .errors import UserError


def load_state(path):
    """Dict from a .pdparams file in paddle's or ppgan's (pickle) format."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if path.endswith(".pkl"):
        raise UserError(f"{path}: an NVIDIA network pickle: convert it first with "
                        f"`ppgan-stylegan convert --src {path} --dst <file>.pdparams` (tools/convert_weights.py)")
    try:
        state = paddle.load(path)
    except Exception:
        try:
            state = ppgan_load(path)
        except Exception as e:
            raise UserError(f"{path}: not a readable Paddle weight file ({type(e).__name__})")
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a dict of weights, got {type(state).__name__}")
    return state


def check_fit(net, state, path="weights", ignore=("w_avg",), what="the generator"):
    """Raise a UserError listing the first mismatching keys/shapes when ``state`` does not fit ``net``."""
    expected = {k: list(v.shape) for k, v in net.state_dict().items()}
    bad = [(k, list(v.shape), expected.get(k)) for k, v in state.items()
           if hasattr(v, "shape") and expected.get(k) is not None and list(v.shape) != expected[k]]
    missing = [k for k in expected if k not in state and not k.startswith(tuple(ignore))]
    if bad or missing:
        detail = "; ".join(f"{k}: file {s} vs model {e}" for k, s, e in bad[:3]) or f"missing {missing[:3]}"
        raise UserError(f"{path}: weights do not fit {what} ({detail})")


def to_tensors(state):
    return {k: v if isinstance(v, paddle.Tensor) else paddle.to_tensor(np.asarray(v)) for k, v in state.items()}


def load_into(net, state, path="weights", ignore=("w_avg",), what="the generator"):
    """``check_fit`` then ``set_state_dict``: the one way a file's weights enter a network."""
    check_fit(net, state, path, ignore, what)
    net.set_state_dict(to_tensors(state))
    return net
