"""Weight import: PaddleGAN files (as is) and rosinality/stylegan2-pytorch checkpoints.

rosinality's state dicts use the same module names as ppgan's (ppgan ported that code), with three
differences: ``nn.Linear``-style weights are ``[out, in]`` (Paddle: ``[in, out]``), the blur kernels
are saved buffers, and a training checkpoint bundles ``g``, ``d``, ``g_ema`` (and pSp files
``latent_avg``). NVIDIA ``.pkl`` networks are pickled dnnlib objects and cannot be read without
NVIDIA's code: we say so and point to the conversion route.
"""
import os

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.state import load_state
from ..networks.loading import build_generator

LINEAR_SUFFIXES = ("modulation.weight",)


def _is_linear_weight(key, array):
    """Dense weights whose layout differs between PyTorch and Paddle."""
    if array.ndim != 2 or not key.endswith("weight"):
        return False
    return key.startswith("style.") or key.endswith(LINEAR_SUFFIXES) or key.startswith("final_linear.")


def _is_blur_buffer(key):
    """rosinality saves FIR kernels of blur layers; ppgan keeps only ToRGB's upsample kernel."""
    return key.endswith(".kernel") and ".upsample." not in key


def rosinality_to_paddle(state):
    """One rosinality network state dict (numpy arrays) -> a ppgan / ppgan-stylegan state dict."""
    out = {}
    for key, value in state.items():
        array = np.asarray(value, dtype=np.float32)
        if _is_blur_buffer(key):
            continue
        out[key] = array.T.copy() if _is_linear_weight(key, array) else array
    return out


def paddle_to_rosinality(state, blur_kernels=None):
    """The inverse (used to check round trips): transpose dense weights, add blur buffers if given."""
    out = {k: (np.asarray(v).T.copy() if _is_linear_weight(k, np.asarray(v)) else np.asarray(v))
           for k, v in state.items() if not k.startswith("w_avg")}
    out.update(blur_kernels or {})
    return out


def read_torch_checkpoint(path):
    """A rosinality .pt as nested dicts of numpy arrays (needs PyTorch)."""
    try:
        import torch
    except ImportError:
        raise UserError(f"{path}: reading PyTorch checkpoints needs torch, which is not installed "
                        "(pip install torch, CPU build is enough), then run this again")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)

    def to_np(obj):
        if isinstance(obj, dict):
            return {k: to_np(v) for k, v in obj.items()}
        return obj.detach().cpu().numpy() if hasattr(obj, "detach") else obj
    return to_np(ckpt)


def convert_checkpoint(path):
    """{'gen', 'gen_ema', 'disc', 'latent_avg'} (whatever the file has) from a supported file."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".pkl":
        raise UserError(f"{path}: an NVIDIA StyleGAN2 .pkl (pickled dnnlib network) cannot be read without "
                        "NVIDIA's code; convert it to a rosinality .pt with rosinality's convert_weight.py, "
                        "then convert that .pt here")
    if ext in (".pt", ".pth"):
        ckpt = read_torch_checkpoint(path)
        result = {}
        for src, dst in (("g_ema", "gen_ema"), ("g", "gen"), ("d", "disc")):
            if isinstance(ckpt.get(src), dict):
                result[dst] = rosinality_to_paddle(ckpt[src])
        if not result and any(k.startswith("style.") for k in ckpt):
            result["gen_ema"] = rosinality_to_paddle(ckpt)
        if "latent_avg" in ckpt:
            result["latent_avg"] = np.asarray(ckpt["latent_avg"], dtype=np.float32)
        if not result:
            raise UserError(f"{path}: no rosinality generator / discriminator found (keys: {sorted(ckpt)[:8]})")
        return result
    state = load_state(path)
    if any(k.startswith("style.") for k in state):  # a PaddleGAN generator file
        return {"gen_ema": {k: np.asarray(v) for k, v in state.items()}}
    if any(k.startswith("convs.") for k in state) and "final_linear.0.weight" in state:
        return {"disc": {k: np.asarray(v) for k, v in state.items()}}
    picked = {k: state[k] for k in ("gen", "gen_ema", "disc") if isinstance(state.get(k), dict)}
    if not picked:
        raise UserError(f"{path}: not a StyleGAN2 generator, discriminator or checkpoint (keys: {sorted(state)[:8]})")
    return picked


def convert_file(src, dst):
    """Convert ``src`` and write ``dst`` (never over the source); returns (what was written, generator summary)."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise UserError("--dst must differ from --src (the source is never overwritten)")
    result = convert_checkpoint(src)
    out = {k: ({n: paddle.to_tensor(v) for n, v in d.items()} if isinstance(d, dict) else paddle.to_tensor(d))
           for k, d in result.items()}
    atomic_write(dst, lambda tmp: paddle.save(out, tmp))
    summary = None
    if "gen_ema" in result or "gen" in result:
        gen, used = build_generator(dst)  # checks that the weights fit a generator
        summary = f"{used}: {gen.size}px, style_dim {gen.style_dim}, n_mlp {len(gen.style) - 1}"
    return sorted(result), summary
