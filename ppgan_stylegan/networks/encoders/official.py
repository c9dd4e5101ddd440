"""The official pixel2style2pixel encoders' state dicts (PyTorch names and layouts) -> ours.

Facts from the official ``models/encoders``: BatchNorm statistics are ``running_mean`` / ``running_var`` (Paddle:
``_mean`` / ``_variance``; ``num_batches_tracked`` has no Paddle counterpart), PReLU's slope is ``weight`` with no
``bias`` beside it (Paddle: ``_weight``), and every 2-D weight is a dense layer's ``[out, in]`` (Paddle's
``[in, out]``): the equalized ``styles.i.linear`` / ``linear`` and the IntoWPlus head's ``output_layer_2.3``.
Convolutions share the layout. Which network the result fits is checked by the caller (``core.state.load_into``).
"""
import numpy as np

RENAMED = {"running_mean": "_mean", "running_var": "_variance"}


def _our_name(key, keys):
    """Our key for an official one (``keys``: all of the file's), or None for what Paddle does not keep."""
    stem, _, leaf = key.rpartition(".")
    if leaf == "num_batches_tracked":
        return None
    if leaf in RENAMED:
        return f"{stem}.{RENAMED[leaf]}"
    if leaf == "weight" and f"{stem}.bias" not in keys and f"{stem}.running_mean" not in keys:
        if np.ndim(keys[key]) == 1:  # a 1-D weight alone: PReLU's slopes
            return f"{stem}._weight"
    return key


def official_encoder_state(estate):
    """``{official key: array}`` of a pSp encoder -> ``{our key: float32 array}``."""
    out = {}
    for key, value in estate.items():
        name = _our_name(key, estate)
        if name is not None:
            array = np.asarray(value, dtype=np.float32)
            out[name] = np.ascontiguousarray(array.T) if array.ndim == 2 else array
    return out
