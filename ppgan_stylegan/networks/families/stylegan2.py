"""How a StyleGAN2 network (ppgan's parameter names) is read from a state dict: recognising its generator and
discriminator, and their constructor arguments from the tensor shapes; how its releases are recognised
(NVIDIA's TensorFlow variables, stylegan2-ada-pytorch tensors)."""
import re

from ...core.errors import UserError
from ..blocks import channel_table


def _shape(v):
    return list(v.shape)


def is_generator_state(state):
    """ppgan's ``StyleGANv2Generator`` / our ``StyleGAN2Generator``: a constant ``input.input`` and ``conv1``."""
    return "input.input" in state and "conv1.conv.weight" in state


def is_discriminator_state(state):
    """The residual discriminator: ``convs.*`` blocks and ``final_linear``."""
    return "final_linear.0.weight" in state and "convs.0.0.weight" in state


def layer_resolution(key):
    """The resolution a generator tensor works at (ppgan's names: ``conv1`` / ``to_rgb1`` / ``input`` / ``noise_0``
    at 4 px, ``convs.{2i, 2i+1}`` / ``to_rgbs.i`` / ``noise_{2i+1, 2i+2}`` at 2^(i+3)), or None for the mapping and
    what is not a layer (``style.*``, ``embed.*``, ``w_avg``)."""
    parts = key.split(".")
    if parts[0] in ("input", "conv1", "to_rgb1"):
        return 4
    if parts[0] == "convs":
        return 2 ** (int(parts[1]) // 2 + 3)
    if parts[0] == "to_rgbs":
        return 2 ** (int(parts[1]) + 3)
    if parts[0] == "noises":
        index = int(parts[1].rsplit("_", 1)[1])
        return 4 if index == 0 else 2 ** ((index - 1) // 2 + 3)
    return None


def generator_kwargs(state, path="weights"):
    """StyleGAN2Generator arguments from the tensor shapes of its state dict."""
    try:
        mlp = sorted(int(m.group(1)) for k in state for m in [re.match(r"style\.(\d+)\.weight$", k)] if m)
        style_dim = _shape(state["style.1.weight"])[1] if mlp else _shape(state["conv1.conv.modulation.weight"])[0]
        c_dim = _shape(state["embed.weight"])[0] if "embed.weight" in state else 0
        n_rgbs = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
        size = 2 ** (n_rgbs + 2)
        _, c4, base_h, base_w = _shape(state["input.input"])
        is_concat = _shape(state["conv1.activate.bias"])[0] == 2 * c4
        img_channels = _shape(state["to_rgb1.bias"])[1]
        channels = {4: c4}
        for j in range(n_rgbs):
            channels[2 ** (j + 3)] = _shape(state[f"convs.{2 * j}.conv.weight"])[1]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN2 generator state dict (missing {e.args[0]!r})")
    cmax = max(channels.values())
    base = channels[size] * size
    shape = size if base_h == base_w else [base_h * size // 4, base_w * size // 4]  # (non-square: [H, W])
    kwargs = dict(size=shape, style_dim=style_dim, n_mlp=len(mlp), is_concat=is_concat, channel_multiplier=1,
                  channel_base=base, channel_max=cmax, img_channels=img_channels, c_dim=c_dim)
    if channel_table(size, 1, base, cmax) != channels:
        raise UserError(f"{path}: channel table {channels} does not follow min(channel_max, base / res)")
    return kwargs


def discriminator_kwargs(state, stddev_group=4, path="weights"):
    """StyleGAN2Discriminator arguments from the shapes of its state dict."""
    try:
        blocks = len({k.split(".")[1] for k in state if k.startswith("convs.")}) - 1
        size = 4 * 2 ** blocks
        channels = {size: _shape(state["convs.0.0.weight"])[0]}
        img_channels = _shape(state["convs.0.0.weight"])[1]
        base_area = _shape(state["final_linear.0.weight"])[0] // _shape(state["final_conv.1.bias"])[0]
        for k in range(1, blocks + 1):
            channels[size // 2 ** k] = _shape(state[f"convs.{k}.conv2.1.weight"])[0]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN2 discriminator state dict (missing {e.args[0]!r})")
    labels = {}
    if "mapping.embed.weight" in state:  # conditional: the projection head's label mapping
        c_dim, cmap_dim = _shape(state["mapping.embed.weight"])
        layers = len({k for k in state if re.match(r"mapping\.layers\.\d+\.weight$", k)})
        labels = dict(c_dim=c_dim, cmap_dim=cmap_dim, mapping_layers=layers)
    if base_area != 16:  # 4x8 or 8x4: the shapes do not say which
        raise UserError(f"{path}: a non-square discriminator (its last block has {base_area} positions, not 4x4): "
                        "give its config (model.discriminator.size: [H, W])")
    return dict(size=size, channel_multiplier=1, channel_base=channels[size] * size,
                channel_max=max(channels.values()), stddev_group=stddev_group, img_channels=img_channels, **labels)


def is_tf_network(names):
    """NVIDIA's StyleGAN2 / StyleGAN2-ADA TensorFlow variables: modulated convolutions (``*/mod_weight``)."""
    return any(n.endswith("/mod_weight") for n in names)


def is_ada_generator(tensors):
    """stylegan2-ada-pytorch's generator tensors (``synthesis.b4.const``)."""
    return "synthesis.b4.const" in tensors
