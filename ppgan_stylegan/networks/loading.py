"""Networks from weight files: finding the generator (or pSp encoder) inside a file's dict and building a
network that fits it (shape from a config or from the tensor shapes).

Accepted files:
* a ppgan / our Trainer checkpoint or weight file: ``{'gen': ..., 'gen_ema': ..., 'disc': ...}``
  (``gen_ema`` is used when present, else ``gen``);
* a bare generator state dict, e.g. a PaddleGAN ``StyleGANv2Generator`` ``.pdparams``.
"""
import re

import numpy as np

from ..core.config import load_config
from ..core.errors import UserError
from ..core.state import load_into, load_state
from .blocks import channel_table
from .encoders import PSPEncoder
from .generators import StyleGAN2Generator, StyleGANGenerator


def generator_state(state, path="weights", prefer=("gen_ema", "gen")):
    """The generator's state dict inside a checkpoint (or the dict itself when it is one).

    Also finds the ``decoder.*`` of a PaddleGAN ``Pixel2Style2Pixel`` file.
    """
    for key in prefer:
        if isinstance(state.get(key), dict):
            return state[key], key
    if any(k.startswith("style.") for k in state):
        return state, "generator"
    if any(k.startswith("decoder.style.") for k in state):
        return {k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")}, "decoder"
    raise UserError(f"{path}: no generator weights (expected keys {list(prefer)} or 'style.*'; "
                    f"found {sorted(state)[:6]})")


def _shape(v):
    return list(v.shape)


def infer_generator_kwargs(gstate, path="weights"):
    """Constructor arguments of StyleGAN2Generator from the tensor shapes in its state dict."""
    try:
        mlp = sorted(int(m.group(1)) for k in gstate for m in [re.match(r"style\.(\d+)\.weight$", k)] if m)
        style_dim = _shape(gstate["style.1.weight"])[0] if mlp else _shape(gstate["conv1.conv.modulation.weight"])[0]
        n_rgbs = len({k.split(".")[1] for k in gstate if k.startswith("to_rgbs.")})
        size = 2 ** (n_rgbs + 2)
        c4 = _shape(gstate["input.input"])[1]
        is_concat = _shape(gstate["conv1.activate.bias"])[0] == 2 * c4
        channels = {4: c4}
        for j in range(n_rgbs):
            channels[2 ** (j + 3)] = _shape(gstate[f"convs.{2 * j}.conv.weight"])[1]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN2 generator state dict (missing {e.args[0]!r})")
    cmax = max(channels.values())
    base = channels[size] * size
    kwargs = dict(size=size, style_dim=style_dim, n_mlp=len(mlp), is_concat=is_concat, channel_multiplier=1,
                  channel_base=base, channel_max=cmax)
    if channel_table(size, 1, base, cmax) != channels:
        raise UserError(f"{path}: channel table {channels} does not follow min(channel_max, base / res)")
    return kwargs


def is_stylegan1_state(gstate):
    """A StyleGAN (v1) ``StyleGANGenerator`` state dict (learned constant ``const``, ``layers.*``)."""
    return "const" in gstate and "layers.0.style.weight" in gstate


def _fmap_table(channels, size, where, path):
    """(fmap_base, fmap_max) with ``min(fmap_max, fmap_base / 2 ** stage)`` == ``channels`` (res -> maps at res,
    stage = log2(res) - 1), as NVIDIA's ``nf``."""
    fmap_max = max(channels.values())
    fmap_base = channels[size] * size // 2
    if {res: min(int(fmap_base / (res // 2)), fmap_max) for res in channels} != channels:
        raise UserError(f"{path}: {where} channel table {channels} does not follow min(fmap_max, fmap_base / 2^stage)")
    return fmap_base, fmap_max


def infer_stylegan1_kwargs(gstate, path="weights"):
    """StyleGANGenerator arguments from the tensor shapes of its state dict."""
    try:
        mlp = [k for k in gstate if re.match(r"style\.\d+\.dense\.weight$", k)]
        style_dim = _shape(gstate["style.1.dense.weight"])[0]
        n_rgbs = len({k.split(".")[1] for k in gstate if k.startswith("to_rgbs.")})
        channels = {2 ** (i + 2): _shape(gstate[f"to_rgbs.{i}.weight"])[1] for i in range(n_rgbs)}
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN generator state dict (missing {e.args[0]!r})")
    size = 2 ** (n_rgbs + 1)
    fmap_base, fmap_max = _fmap_table(channels, size, "generator", path)
    return dict(size=size, style_dim=style_dim, n_mlp=len(mlp), fmap_base=fmap_base, fmap_max=fmap_max)


def infer_stylegan1_discriminator_kwargs(state, mbstd_group_size=4, path="weights"):
    """StyleGANDiscriminator (D_basic) arguments from the shapes of its state dict."""
    try:
        n = len({k.split(".")[1] for k in state if k.startswith("from_rgbs.")})
        size = 2 ** (n + 1)
        channels = {size // 2 ** lod: _shape(state[f"from_rgbs.{lod}.conv.weight"])[0] for lod in range(n)}
        features = _shape(state["conv.conv.weight"])[1] - channels[4]
        labels = _shape(state["dense1.weight"])[1]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN discriminator state dict (missing {e.args[0]!r})")
    fmap_base, fmap_max = _fmap_table(channels, size, "discriminator", path)
    return dict(size=size, fmap_base=fmap_base, fmap_max=fmap_max, label_size=labels if labels > 1 else 0,
                mbstd_group_size=mbstd_group_size if features else 1, mbstd_num_features=max(features, 1))


def infer_discriminator_kwargs(state, stddev_group=4, path="weights"):
    """StyleGAN2Discriminator arguments from the shapes of its state dict."""
    try:
        blocks = len({k.split(".")[1] for k in state if k.startswith("convs.")}) - 1
        size = 4 * 2 ** blocks
        channels = {size: _shape(state["convs.0.0.weight"])[0]}
        for k in range(1, blocks + 1):
            channels[size // 2 ** k] = _shape(state[f"convs.{k}.conv2.1.weight"])[0]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN2 discriminator state dict (missing {e.args[0]!r})")
    return dict(size=size, channel_multiplier=1, channel_base=channels[size] * size,
                channel_max=max(channels.values()), stddev_group=stddev_group)


def generator_from_state(gstate, gcfg=None, path="weights"):
    """A StyleGAN2Generator or StyleGANGenerator (v1) in eval mode built from ``gcfg`` (or the shapes in
    ``gstate``) holding ``gstate``."""
    v1 = gcfg.get("name") == "StyleGANGenerator" if gcfg else is_stylegan1_state(gstate)
    if not gcfg:
        gcfg = infer_stylegan1_kwargs(gstate, path) if v1 else infer_generator_kwargs(gstate, path)
    gcfg = dict(gcfg)
    gcfg.pop("name", None)
    gen = (StyleGANGenerator if v1 else StyleGAN2Generator)(**gcfg)
    load_into(gen, gstate, path)
    gen.eval()
    return gen


def build_generator(weights, config=None, prefer=("gen_ema", "gen"), state=None):
    """(generator in eval mode, which entry was used) from a weight file and an optional YAML config."""
    state = load_state(weights) if state is None else state
    gstate, used = generator_state(state, weights, prefer)
    gcfg = None
    if config:
        gcfg = load_config(config).model.generator
    elif is_stylegan1_state(gstate):  # what shapes cannot tell (fused_scale, structure, ...) from the file's config
        saved = (((state.get("meta") or {}).get("config") or {}).get("model") or {}).get("generator") or {}
        gcfg = dict(saved) if saved.get("name") == "StyleGANGenerator" else None
    return generator_from_state(gstate, gcfg, weights), used


def encoder_state(state, path="weights"):
    """(pSp encoder state dict, config dict or None) from our PSPModel file or a PaddleGAN pSp file."""
    if isinstance(state.get("encoder"), dict):
        meta = state.get("meta") or {}
        cfg = ((meta.get("config") or {}).get("model") or {}).get("encoder")
        return dict(state["encoder"]), (dict(cfg) if cfg else None)
    if any(k.startswith("encoder.") for k in state):  # PaddleGAN Pixel2Style2Pixel
        estate = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
        if "latent_avg" in state:
            estate["latent_avg"] = np.asarray(state["latent_avg"]).reshape([-1, np.shape(state["latent_avg"])[-1]])
        return estate, None
    raise UserError(f"{path}: no pSp encoder weights (expected an 'encoder' entry or 'encoder.*' keys; "
                    f"found {sorted(state)[:6]})")


def infer_encoder_kwargs(estate, path="weights"):
    """PSPEncoder arguments from the tensor shapes of its state dict (stage widths must differ)."""
    try:
        n_styles = len({k.split(".")[1] for k in estate if k.startswith("styles.")})
        style_dim = _shape(estate["styles.0.linear.weight"])[1]
        input_nc = _shape(estate["input_layer.0.weight"])[1]
        n_units = len({k.split(".")[1] for k in estate if k.startswith("body.")})
        depths = [_shape(estate[f"body.{i}.res_layer.1.weight"])[0] for i in range(n_units)]
        last = n_styles - 1
        stride = 4 if last >= 7 else 8 if last >= 3 else 16
        n_convs = len({k.split(".")[3] for k in estate if k.startswith(f"styles.{last}.convs.")})
    except KeyError as e:
        raise UserError(f"{path}: not a pSp encoder state dict (missing {e.args[0]!r})")
    widths = sorted(set(depths), key=depths.index)
    if len(widths) != 4:
        raise UserError(f"{path}: cannot tell the encoder's 4 stages from its widths {widths}; give --config")
    return dict(n_styles=n_styles, style_dim=style_dim, input_nc=input_nc, widths=widths,
                units=[depths.count(w) for w in widths], input_size=stride * 2 ** n_convs,
                mode="ir_se" if "body.0.res_layer.5.fc1.weight" in estate else "ir")


def encoder_from_state(state, path="weights", config=None):
    """A PSPEncoder (eval mode) holding the encoder of ``state`` (shape from ``config`` or the weights)."""
    estate, saved_cfg = encoder_state(state, path)
    cfg = dict(config or saved_cfg or infer_encoder_kwargs(estate, path))
    cfg.pop("name", None)
    cfg.setdefault("n_styles", len({k.split(".")[1] for k in estate if k.startswith("styles.")}))
    if "styles.0.linear.weight" in estate:
        cfg.setdefault("style_dim", _shape(estate["styles.0.linear.weight"])[1])
    encoder = PSPEncoder(**cfg)
    load_into(encoder, estate, path, ignore=(), what="the pSp encoder")
    encoder.eval()
    return encoder
