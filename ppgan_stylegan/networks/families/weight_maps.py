"""Name and layout maps from other StyleGAN / StyleGAN2 releases into our (ppgan's) state dicts.

Facts (key names, layouts) from the releases' own converters: rosinality's ``convert_weight.py`` and
NVIDIA's ``legacy.py`` (stylegan2-ada-pytorch), which reads the TensorFlow pickles.

Layouts: TensorFlow conv weights are ``[k, k, in, out]`` and dense ``[in, out]`` (Paddle's dense layout);
PyTorch dense weights are ``[out, in]``. TensorFlow's ``mod_bias`` is stored minus its init of 1. The
TensorFlow up-convolution kernel is flipped relative to rosinality's / NVIDIA PyTorch's.
Each map returns ``{our key: array}``; ``fill_state`` checks it against our network.
"""
import re

import numpy as np

from ...core.errors import UserError
from ...core.state import check_fit


# ----------------------------------------------------------------------------- rosinality (PyTorch)

def _is_linear_weight(key, array):
    """rosinality dense weights (``[out, in]``) whose layout differs from Paddle's."""
    if array.ndim != 2 or not key.endswith("weight"):
        return False
    return key.startswith("style.") or key.endswith("modulation.weight") or key.startswith("final_linear.")


def rosinality_to_paddle(state):
    """One rosinality network state dict (numpy arrays) -> ours (blur kernels of blur layers dropped:
    ppgan keeps only ToRGB's upsample kernel, and ours rebuilds the rest)."""
    out = {}
    for key, value in state.items():
        if key.endswith(".kernel") and ".upsample." not in key:
            continue
        array = np.asarray(value, dtype=np.float32)
        out[key] = array.T.copy() if _is_linear_weight(key, array) else array
    return out


def paddle_to_rosinality(state, blur_kernels=None):
    """The inverse (round-trip checks): dense weights transposed, blur buffers added if given."""
    out = {k: (np.asarray(v).T.copy() if _is_linear_weight(k, np.asarray(v)) else np.asarray(v))
           for k, v in state.items() if not k.startswith("w_avg")}
    out.update(blur_kernels or {})
    return out


# ----------------------------------------------------------------------------- shared pieces

def _f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _modconv(dst, weight, mod_w, mod_b, bias=None, strength=None, rgb=False):
    """Our keys of one modulated conv layer (StyledConv ``dst`` or ToRGB ``dst``) from OIkk weights."""
    out = {f"{dst}.conv.weight": _f32(weight)[None], f"{dst}.conv.modulation.weight": _f32(mod_w),
           f"{dst}.conv.modulation.bias": _f32(mod_b)}
    if rgb:
        out[f"{dst}.bias"] = _f32(bias).reshape([1, -1, 1, 1])
    else:
        out[f"{dst}.noise.weight"] = _f32(strength).reshape([1])
        out[f"{dst}.activate.bias"] = _f32(bias)
    return out


def _resolutions(size):
    return [2 ** i for i in range(3, int(np.log2(size)) + 1)]


def _count(names, pattern):
    return len({m.group(1) for n in names for m in [re.fullmatch(pattern, n)] if m})


# ----------------------------------------------------------------------------- NVIDIA TensorFlow (StyleGAN2)

def _tf_conv(w):
    """``[k, k, in, out]`` -> ``[out, in, k, k]``."""
    return np.asarray(w).transpose(3, 2, 0, 1)


def tf_generator(p, size):
    """StyleGAN2 TF ``G``/``Gs`` variables (scoped names, see ``TFNetwork.params``) -> ours."""
    out = {}
    for i in range(_count(p, r"mapping/Dense(\d+)/weight")):
        out[f"style.{i + 1}.weight"] = _f32(p[f"mapping/Dense{i}/weight"])
        out[f"style.{i + 1}.bias"] = _f32(p[f"mapping/Dense{i}/bias"])
    out["input.input"] = _f32(p["synthesis/4x4/Const/const"])

    def tf_modconv(dst, src, flip=False, rgb=False):
        w = np.asarray(p[f"synthesis/{src}/weight"])
        w = w[::-1, ::-1] if flip else w
        return _modconv(dst, _tf_conv(w), p[f"synthesis/{src}/mod_weight"], np.asarray(p[f"synthesis/{src}/mod_bias"]) + 1,
                        p[f"synthesis/{src}/bias"], p.get(f"synthesis/{src}/noise_strength"), rgb)
    out.update(tf_modconv("conv1", "4x4/Conv"))
    out.update(tf_modconv("to_rgb1", "4x4/ToRGB", rgb=True))
    for j, r in enumerate(_resolutions(size)):
        out.update(tf_modconv(f"convs.{2 * j}", f"{r}x{r}/Conv0_up", flip=True))
        out.update(tf_modconv(f"convs.{2 * j + 1}", f"{r}x{r}/Conv1"))
        out.update(tf_modconv(f"to_rgbs.{j}", f"{r}x{r}/ToRGB", rgb=True))
    for i in range(2 * len(_resolutions(size)) + 1):
        out[f"noises.noise_{i}"] = _f32(p[f"synthesis/noise{i}"])
    if "dlatent_avg" in p:
        out["w_avg"] = _f32(p["dlatent_avg"]).reshape([-1])
    return out


def tf_discriminator(p, size):
    """StyleGAN2 TF ``D`` (resnet) variables -> ours."""
    out = {"convs.0.0.weight": _f32(_tf_conv(p[f"{size}x{size}/FromRGB/weight"])),
           "convs.0.1.bias": _f32(p[f"{size}x{size}/FromRGB/bias"])}
    for k, r in enumerate(reversed(_resolutions(size)), start=1):
        out[f"convs.{k}.conv1.0.weight"] = _f32(_tf_conv(p[f"{r}x{r}/Conv0/weight"]))
        out[f"convs.{k}.conv1.1.bias"] = _f32(p[f"{r}x{r}/Conv0/bias"])
        out[f"convs.{k}.conv2.1.weight"] = _f32(_tf_conv(p[f"{r}x{r}/Conv1_down/weight"]))
        out[f"convs.{k}.conv2.2.bias"] = _f32(p[f"{r}x{r}/Conv1_down/bias"])
        out[f"convs.{k}.skip.1.weight"] = _f32(_tf_conv(p[f"{r}x{r}/Skip/weight"]))
    out.update({"final_conv.0.weight": _f32(_tf_conv(p["4x4/Conv/weight"])), "final_conv.1.bias": _f32(p["4x4/Conv/bias"]),
                "final_linear.0.weight": _f32(p["4x4/Dense0/weight"]), "final_linear.0.bias": _f32(p["4x4/Dense0/bias"]),
                "final_linear.1.weight": _f32(p["Output/weight"]), "final_linear.1.bias": _f32(p["Output/bias"])})
    return out


# ----------------------------------------------------------------------------- NVIDIA TensorFlow (StyleGAN v1)

def _v1_scope(i):
    """TensorFlow scope of synthesis layer ``i``: 4x4/Const, 4x4/Conv, then Conv0_up / Conv1 per resolution."""
    if i < 2:
        return ("4x4/Const", "4x4/Conv")[i]
    r = 2 ** (i // 2 + 2)
    return f"{r}x{r}/" + ("Conv0_up" if i % 2 == 0 else "Conv1")


def _lod(p, *names):
    for name in names:
        if name in p:
            return {"lod": _f32(p[name]).reshape([1])}
    return {}


def tf_v1_generator(p, size):
    """StyleGAN (v1) TF ``G_style`` variables (``mapping/...``, ``synthesis/...``, ``dlatent_avg``, ``lod``) -> ours
    (StyleGANGenerator). Conv kernels keep their orientation: our fused up-sampling conv is NVIDIA's op."""
    log2 = int(np.log2(size))
    out = {"const": _f32(p["synthesis/4x4/Const/const"])}
    for i in range(_count(p, r"mapping/Dense(\d+)/weight")):
        out[f"style.{i + 1}.dense.weight"] = _f32(p[f"mapping/Dense{i}/weight"])
        out[f"style.{i + 1}.dense.bias"] = _f32(p[f"mapping/Dense{i}/bias"])
    for i in range(2 * log2 - 2):
        src, dst = f"synthesis/{_v1_scope(i)}", f"layers.{i}"
        if i:
            conv = f"{dst}.conv.conv.weight" if i % 2 == 0 else f"{dst}.conv.weight"  # Conv0_up wraps its conv
            out[conv] = _f32(_tf_conv(p[f"{src}/weight"]))
        out[f"{dst}.noise_strength"] = _f32(p[f"{src}/Noise/weight"])
        out[f"{dst}.bias"] = _f32(p[f"{src}/bias"])
        out[f"{dst}.style.weight"] = _f32(p[f"{src}/StyleMod/weight"])
        out[f"{dst}.style.bias"] = _f32(p[f"{src}/StyleMod/bias"])
        out[f"noises.noise_{i}"] = _f32(p[f"synthesis/noise{i}"])
    for res in range(2, log2 + 1):
        out[f"to_rgbs.{res - 2}.weight"] = _f32(_tf_conv(p[f"synthesis/ToRGB_lod{log2 - res}/weight"]))
        out[f"to_rgbs.{res - 2}.bias"] = _f32(p[f"synthesis/ToRGB_lod{log2 - res}/bias"])
    if "dlatent_avg" in p:
        out["w_avg"] = _f32(p["dlatent_avg"]).reshape([-1])
    out.update(_lod(p, "lod", "synthesis/lod"))
    return out


def tf_v1_discriminator(p, size):
    """StyleGAN (v1) TF ``D_basic`` variables -> ours (StyleGANDiscriminator; NVIDIA's fused down-sampling conv
    equals blur + conv + 2x2 average, which ours computes)."""
    log2 = int(np.log2(size))
    out = {}
    for lod in range(log2 - 1):
        out[f"from_rgbs.{lod}.conv.weight"] = _f32(_tf_conv(p[f"FromRGB_lod{lod}/weight"]))
        out[f"from_rgbs.{lod}.act.bias"] = _f32(p[f"FromRGB_lod{lod}/bias"])
    for lod in range(log2 - 2):
        r = 2 ** (log2 - lod)
        for scope, dst in (("Conv0", "conv0"), ("Conv1_down", "conv1_down")):
            out[f"blocks.{lod}.{dst}.conv.weight"] = _f32(_tf_conv(p[f"{r}x{r}/{scope}/weight"]))
            out[f"blocks.{lod}.{dst}.act.bias"] = _f32(p[f"{r}x{r}/{scope}/bias"])
    out.update({"conv.conv.weight": _f32(_tf_conv(p["4x4/Conv/weight"])), "conv.act.bias": _f32(p["4x4/Conv/bias"]),
                "dense0.weight": _f32(p["4x4/Dense0/weight"]), "dense0_act.bias": _f32(p["4x4/Dense0/bias"]),
                "dense1.weight": _f32(p["4x4/Dense1/weight"]), "dense1.bias": _f32(p["4x4/Dense1/bias"])})
    out.update(_lod(p, "lod"))
    return out


# ----------------------------------------------------------------------------- stylegan2-ada-pytorch

def ada_generator(t, size):
    """stylegan2-ada-pytorch ``G`` / ``G_ema`` tensors (``named_tensors``) -> ours."""
    out = {}
    for i in range(_count(t, r"mapping\.fc(\d+)\.weight")):
        out[f"style.{i + 1}.weight"] = _f32(np.asarray(t[f"mapping.fc{i}.weight"]).T)
        out[f"style.{i + 1}.bias"] = _f32(t[f"mapping.fc{i}.bias"])
    out.update(_dense("embed", t, "mapping.embed"))  # (conditional: the label embedding)
    out["input.input"] = _f32(t["synthesis.b4.const"])[None]

    def ada_layer(dst, src, rgb=False):
        s = f"synthesis.{src}"
        return _modconv(dst, t[f"{s}.weight"], np.asarray(t[f"{s}.affine.weight"]).T, t[f"{s}.affine.bias"],
                        t[f"{s}.bias"], t.get(f"{s}.noise_strength"), rgb)
    out.update(ada_layer("conv1", "b4.conv1"))
    out.update(ada_layer("to_rgb1", "b4.torgb", rgb=True))
    out["noises.noise_0"] = _f32(t["synthesis.b4.conv1.noise_const"])[None, None]
    for j, r in enumerate(_resolutions(size)):
        out.update(ada_layer(f"convs.{2 * j}", f"b{r}.conv0"))
        out.update(ada_layer(f"convs.{2 * j + 1}", f"b{r}.conv1"))
        out.update(ada_layer(f"to_rgbs.{j}", f"b{r}.torgb", rgb=True))
        out[f"noises.noise_{2 * j + 1}"] = _f32(t[f"synthesis.b{r}.conv0.noise_const"])[None, None]
        out[f"noises.noise_{2 * j + 2}"] = _f32(t[f"synthesis.b{r}.conv1.noise_const"])[None, None]
    if "mapping.w_avg" in t:
        out["w_avg"] = _f32(t["mapping.w_avg"])
    return out


def ada_discriminator(t, size):
    """stylegan2-ada-pytorch ``D`` (resnet) tensors -> ours."""
    out = {"convs.0.0.weight": _f32(t[f"b{size}.fromrgb.weight"]), "convs.0.1.bias": _f32(t[f"b{size}.fromrgb.bias"])}
    for k, r in enumerate(reversed(_resolutions(size)), start=1):
        out[f"convs.{k}.conv1.0.weight"] = _f32(t[f"b{r}.conv0.weight"])
        out[f"convs.{k}.conv1.1.bias"] = _f32(t[f"b{r}.conv0.bias"])
        out[f"convs.{k}.conv2.1.weight"] = _f32(t[f"b{r}.conv1.weight"])
        out[f"convs.{k}.conv2.2.bias"] = _f32(t[f"b{r}.conv1.bias"])
        out[f"convs.{k}.skip.1.weight"] = _f32(t[f"b{r}.skip.weight"])
    out.update({"final_conv.0.weight": _f32(t["b4.conv.weight"]), "final_conv.1.bias": _f32(t["b4.conv.bias"]),
                "final_linear.0.weight": _f32(np.asarray(t["b4.fc.weight"]).T), "final_linear.0.bias": _f32(t["b4.fc.bias"]),
                "final_linear.1.weight": _f32(np.asarray(t["b4.out.weight"]).T), "final_linear.1.bias": _f32(t["b4.out.bias"])})
    out.update(_dense("mapping.embed", t, "mapping.embed"))  # (conditional: the projection head's label mapping)
    for i in range(_count(t, r"mapping\.fc(\d+)\.weight")):
        out.update(_dense(f"mapping.layers.{i}", t, f"mapping.fc{i}"))
    return out


def _dense(dst, t, src):
    """A stylegan2-ada-pytorch ``FullyConnectedLayer`` ``src`` (weight ``[out, in]``) as our ``EqualLinear``
    ``dst`` (``[in, out]``); nothing when the file has no such layer."""
    if f"{src}.weight" not in t:
        return {}
    return {f"{dst}.weight": _f32(np.asarray(t[f"{src}.weight"]).T), f"{dst}.bias": _f32(t[f"{src}.bias"])}


def fill_state(net, mapped, path, what):
    """``net``'s state dict with ``mapped`` written over it: every mapped key must exist in ``net`` and
    ``core.state.check_fit`` must pass (shapes; only buffers ours rebuilds itself, the FIR kernels and the
    ``w_avg`` bookkeeping, may stay unmapped)."""
    own = {k: v.numpy() for k, v in net.state_dict().items()}
    stray = [k for k in mapped if k not in own]
    if stray:
        raise UserError(f"{path}: {what}: {stray[0]} has no place in our network")
    kernels = tuple(k for k in own if k.endswith(".kernel"))
    check_fit(net, mapped, path, ignore=("w_avg", "lod") + kernels, what=f"our network ({what})")
    own.update(mapped)
    return own
