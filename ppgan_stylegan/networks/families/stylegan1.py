"""How a StyleGAN (v1) network (``StyleGANGenerator`` = NVIDIA's G_style, ``StyleGANDiscriminator`` = D_basic) is
read from a state dict: recognising it, and its constructor arguments from the tensor shapes; how NVIDIA's
TensorFlow release is recognised."""
import re

from ...core.errors import UserError


def _shape(v):
    return list(v.shape)


def is_generator_state(state):
    """A learned constant ``const`` and AdaIN layers ``layers.*``."""
    return "const" in state and "layers.0.style.weight" in state


def is_discriminator_state(state):
    """D_basic: one FromRGB per level of detail (``from_rgbs.*``)."""
    return "from_rgbs.0.conv.weight" in state


def _fmap_table(channels, size, where, path):
    """(fmap_base, fmap_max) with ``min(fmap_max, fmap_base / 2 ** stage)`` == ``channels`` (res -> maps at res,
    stage = log2(res) - 1), as NVIDIA's ``nf``."""
    fmap_max = max(channels.values())
    fmap_base = channels[size] * size // 2
    if {res: min(int(fmap_base / (res // 2)), fmap_max) for res in channels} != channels:
        raise UserError(f"{path}: {where} channel table {channels} does not follow min(fmap_max, fmap_base / 2^stage)")
    return fmap_base, fmap_max


def generator_kwargs(state, path="weights"):
    """StyleGANGenerator arguments from the tensor shapes of its state dict."""
    try:
        mlp = [k for k in state if re.match(r"style\.\d+\.dense\.weight$", k)]
        style_dim = _shape(state["style.1.dense.weight"])[1]
        label_size = _shape(state["embed"])[0] if "embed" in state else 0
        n_rgbs = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
        channels = {2 ** (i + 2): _shape(state[f"to_rgbs.{i}.weight"])[1] for i in range(n_rgbs)}
        num_channels = _shape(state["to_rgbs.0.weight"])[0]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN generator state dict (missing {e.args[0]!r})")
    size = 2 ** (n_rgbs + 1)
    fmap_base, fmap_max = _fmap_table(channels, size, "generator", path)
    return dict(size=size, style_dim=style_dim, n_mlp=len(mlp), fmap_base=fmap_base, fmap_max=fmap_max,
                num_channels=num_channels, label_size=label_size)


def discriminator_kwargs(state, stddev_group=4, path="weights"):
    """StyleGANDiscriminator (D_basic) arguments from the shapes of its state dict."""
    try:
        n = len({k.split(".")[1] for k in state if k.startswith("from_rgbs.")})
        size = 2 ** (n + 1)
        channels = {size // 2 ** lod: _shape(state[f"from_rgbs.{lod}.conv.weight"])[0] for lod in range(n)}
        features = _shape(state["conv.conv.weight"])[1] - channels[4]
        labels = _shape(state["dense1.weight"])[1]
        num_channels = _shape(state["from_rgbs.0.conv.weight"])[1]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN discriminator state dict (missing {e.args[0]!r})")
    fmap_base, fmap_max = _fmap_table(channels, size, "discriminator", path)
    return dict(size=size, num_channels=num_channels, fmap_base=fmap_base, fmap_max=fmap_max,
                label_size=labels if labels > 1 else 0,
                mbstd_group_size=stddev_group if features else 1, mbstd_num_features=max(features, 1))


def is_tf_network(names):
    """NVIDIA's StyleGAN (v1) TensorFlow variables: per-level ToRGB (``ToRGB_lod*``), per-layer noise strengths or
    the ``lod`` variable."""
    return any(n.startswith("synthesis/ToRGB_lod") or "/Noise/weight" in n for n in names) or "lod" in names
