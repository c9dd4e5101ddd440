"""Weight import from every StyleGAN / StyleGAN2 release, with neither PyTorch nor TensorFlow installed.

Sources (the format is detected from the file's contents, not its name):

* rosinality / stylegan2-pytorch ``.pt`` (``g``, ``d``, ``g_ema``, ``latent_avg``; or a bare state dict);
* NVIDIA's TensorFlow ``.pkl`` (StyleGAN2 config E/F, StyleGAN2-ADA TF): ``(G, D, Gs)`` with ``dlatent_avg``;
* NVIDIA's StyleGAN (v1) TensorFlow ``.pkl``: ``G_style`` / ``D_basic`` / ``Gs`` (-> StyleGANGenerator /
  StyleGANDiscriminator, ``dlatent_avg`` and ``lod`` kept);
* stylegan2-ada-pytorch ``.pkl`` (``G``, ``D``, ``G_ema``; any resolution, channel base / max, mapping depth);
* PaddleGAN generator ``.pdparams`` (no average inside: a deterministic one is computed and stored),
  ppgan / our weight files and checkpoints.

Readers are ``core.pickles`` (restricted unpickling, nothing from the file runs); name maps are
``apps.weight_maps``. Output: one ``.pdparams`` with ``gen``, ``gen_ema``, ``disc`` (what the source has),
the averages in ``gen*.w_avg`` (counted as tracked), and ``meta`` describing the networks; our applications
and ``--load`` read it.
"""
import os
import zipfile

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.pickles import TFNetwork, TorchModule, read_pickle, read_torch
from ..core.state import load_state, to_tensors
from ..networks.discriminators import StyleGAN2Discriminator, StyleGANDiscriminator
from ..networks.generators import StyleGAN2Generator, StyleGANGenerator
from ..networks.loading import (infer_discriminator_kwargs, infer_generator_kwargs,
                                infer_stylegan1_discriminator_kwargs, infer_stylegan1_kwargs, is_stylegan1_state)
from .weight_maps import (ada_discriminator, ada_generator, fill_state, rosinality_to_paddle, tf_discriminator,
                          tf_generator, tf_v1_discriminator, tf_v1_generator)

AVERAGE_SEED, AVERAGE_SAMPLES = 0, 100_000  # PaddleGAN files: the stored average of W


class Converted:
    """What a source held, in our layouts: ``nets`` {'gen', 'gen_ema', 'disc'}, what was found (``family``),
    the networks' constructor arguments and notes for the user."""

    def __init__(self, family):
        self.family, self.nets, self.kwargs, self.notes = family, {}, {}, []
        self.classes = {"generator": "StyleGAN2Generator", "discriminator": "StyleGAN2Discriminator"}


TORCH_LEGACY_HEAD = b"\x80\x02\x8a\x0a"  # pickle protocol 2, then the 10-byte magic number as LONG1


def _head(path):
    with open(path, "rb") as f:
        return f.read(4)


# ----------------------------------------------------------------------------- our state dicts from mapped arrays

def _generator(gstate, path, what, extra=None):
    """(our full state dict, constructor arguments) of a StyleGAN2 or, by its keys, a StyleGAN (v1) generator;
    an average in the file counts as tracked."""
    v1 = is_stylegan1_state(gstate)
    kwargs = dict(infer_stylegan1_kwargs(gstate, path) if v1 else infer_generator_kwargs(gstate, path), **(extra or {}))
    state = fill_state((StyleGANGenerator if v1 else StyleGAN2Generator)(**kwargs), gstate, path, what)
    if "w_avg" in gstate and "w_avg_updates" not in gstate:
        state["w_avg_updates"] = np.ones([1], np.float32)
    return state, kwargs


def _discriminator(dstate, path, what, stddev_group=4):
    if "from_rgbs.0.conv.weight" in dstate:  # StyleGAN (v1) D_basic
        kwargs = infer_stylegan1_discriminator_kwargs(dstate, stddev_group, path)
        return fill_state(StyleGANDiscriminator(**kwargs), dstate, path, what), kwargs
    kwargs = infer_discriminator_kwargs(dstate, stddev_group, path)
    return fill_state(StyleGAN2Discriminator(**kwargs), dstate, path, what), kwargs


def _add(result, name, state, kwargs, w_avg=None):
    if w_avg is not None:  # an average stored beside the weights (rosinality's latent_avg, PaddleGAN's computed)
        state["w_avg"] = np.asarray(w_avg, np.float32).reshape([-1])
        state["w_avg_updates"] = np.ones([1], np.float32)
    result.nets[name] = state
    role = "discriminator" if name == "disc" else "generator"
    result.kwargs[role] = kwargs
    v1 = "from_rgbs.0.conv.weight" in state if name == "disc" else is_stylegan1_state(state)
    result.classes[role] = ("StyleGANDiscriminator" if name == "disc" else "StyleGANGenerator") if v1 else \
        ("StyleGAN2Discriminator" if name == "disc" else "StyleGAN2Generator")


# ----------------------------------------------------------------------------- per family

def _from_rosinality(ckpt, path):
    result = Converted("rosinality stylegan2-pytorch")
    latent_avg = ckpt.get("latent_avg")
    found = {dst: ckpt[src] for src, dst in (("g_ema", "gen_ema"), ("g", "gen"), ("d", "disc"))
             if isinstance(ckpt.get(src), dict)}
    if not found and any(str(k).startswith("style.") for k in ckpt):
        found = {"gen_ema": ckpt}
    if not found:
        raise UserError(f"{path}: a PyTorch file without a rosinality generator or discriminator "
                        f"(keys: {sorted(map(str, ckpt))[:8]})")
    for name, state in found.items():
        mapped = rosinality_to_paddle(state)
        if name == "disc":
            _add(result, name, *_discriminator(mapped, path, "d"))
        else:
            avg = latent_avg if name == "gen_ema" and latent_avg is not None else None
            _add(result, name, *_generator(mapped, path, name), w_avg=avg)
    if latent_avg is not None:
        result.notes.append("latent_avg -> gen_ema.w_avg")
    return result


def _tf_kind(net):
    names = set(net.params())
    if any(n.startswith("synthesis/ToRGB_lod") or "/Noise/weight" in n for n in names) or "lod" in names:
        return "a StyleGAN (v1)"
    if not any(n.endswith("/mod_weight") for n in names):
        return "an unrecognised (no modulated convolutions)"
    return "StyleGAN2"


def _from_tf_v1(nets, path):
    """NVIDIA's StyleGAN (v1) pickles: ``G_style`` (G, Gs) and ``D_basic`` (D)."""
    g, d, gs = nets
    kw = gs.static_kwargs
    size = int(kw.get("resolution", 1024))
    # what the shapes do not tell, from the networks' own arguments (NVIDIA's defaults otherwise)
    extra = {"fused_scale": kw.get("fused_scale", "auto"),
             "structure": "fixed" if kw.get("structure") == "fixed" else "linear",
             "nonlinearity": kw.get("nonlinearity", "lrelu")}
    result = Converted("NVIDIA StyleGAN (v1, TensorFlow)")
    _add(result, "gen_ema", *_generator(tf_v1_generator(gs.params(), size), path, "Gs", extra))
    _add(result, "gen", *_generator(tf_v1_generator(g.params(), size), path, "G", extra))
    group = d.static_kwargs.get("mbstd_group_size", 4)
    _add(result, "disc", *_discriminator(tf_v1_discriminator(d.params(), size), path, "D", group))
    result.notes.append("dlatent_avg -> gen*.w_avg; lod kept")
    return result


def _from_tf(nets, path):
    g, d, gs = nets
    kw = gs.static_kwargs
    if kw.get("label_size", 0) or d.static_kwargs.get("label_size", 0):
        raise UserError(f"{path}: a conditional network (label_size {kw.get('label_size')}); only "
                        "unconditional networks are supported")
    kind = _tf_kind(gs)
    if kind == "a StyleGAN (v1)":
        return _from_tf_v1(nets, path)
    if kind != "StyleGAN2":
        raise UserError(f"{path}: {kind} TensorFlow network; supported: StyleGAN (v1) G_style, StyleGAN2 config "
                        "E/F and StyleGAN2-ADA (TensorFlow) generators with the skip architecture")
    if kw.get("architecture", "skip") != "skip" or d.static_kwargs.get("architecture", "resnet") != "resnet":
        raise UserError(f"{path}: architecture G {kw.get('architecture', 'skip')!r} / D "
                        f"{d.static_kwargs.get('architecture', 'resnet')!r}; supported: G 'skip', D 'resnet' (config E/F)")
    size = int(kw.get("resolution", 1024))
    result = Converted("NVIDIA StyleGAN2 (TensorFlow)")
    _add(result, "gen_ema", *_generator(tf_generator(gs.params(), size), path, "Gs"))
    _add(result, "gen", *_generator(tf_generator(g.params(), size), path, "G"))
    group = d.static_kwargs.get("mbstd_group_size") or 4
    _add(result, "disc", *_discriminator(tf_discriminator(d.params(), size), path, "D", group))
    result.notes.append("dlatent_avg -> gen*.w_avg")
    return result


def _init_kwargs(module):
    kw = module.__dict__.get("_init_kwargs") or {}
    return dict(kw) if isinstance(kw, dict) else {}


def _from_ada(data, path):
    g_ema = data.get("G_ema")
    synth = (g_ema.__dict__.get("_modules") or {}).get("synthesis") if isinstance(g_ema, TorchModule) else None
    children = set((synth.__dict__.get("_modules") or {}) if isinstance(synth, TorchModule) else ())
    if "input" in children or any(c.startswith("L") and "_" in c for c in children):
        raise UserError(f"{path}: a StyleGAN3 network (synthesis layers {sorted(children)[:3]}); "
                        "supported: StyleGAN2 (stylegan2-ada-pytorch) networks")
    kwargs = _init_kwargs(g_ema)
    tensors = g_ema.named_tensors()
    if kwargs.get("c_dim", 0) or "mapping.embed.weight" in tensors:
        raise UserError(f"{path}: a conditional network (c_dim {kwargs.get('c_dim')}); only unconditional "
                        "StyleGAN2 is supported")
    if "synthesis.b4.const" not in tensors:
        raise UserError(f"{path}: not a stylegan2-ada-pytorch generator (no synthesis.b4.const)")
    if kwargs.get("z_dim", 512) != kwargs.get("w_dim", 512):
        raise UserError(f"{path}: z_dim {kwargs.get('z_dim')} != w_dim {kwargs.get('w_dim')}; ours needs them equal")
    size = int(kwargs.get("img_resolution") or 4 * 2 ** (len([c for c in children if c.startswith("b")]) - 1))
    result = Converted("NVIDIA stylegan2-ada-pytorch")
    for src, dst in (("G_ema", "gen_ema"), ("G", "gen")):
        if isinstance(data.get(src), TorchModule):
            _add(result, dst, *_generator(ada_generator(data[src].named_tensors(), size), path, src))
    if isinstance(data.get("D"), TorchModule):
        d = data["D"]
        dkw = _init_kwargs(d)
        if dkw.get("architecture", "resnet") != "resnet":
            raise UserError(f"{path}: D architecture {dkw.get('architecture')!r}; supported: 'resnet'")
        group = (dkw.get("epilogue_kwargs") or {}).get("mbstd_group_size") or 4
        _add(result, "disc", *_discriminator(ada_discriminator(d.named_tensors(), size), path, "D", group))
    result.notes.append("mapping.w_avg -> gen*.w_avg")
    return result


def _paddle_average(state, kwargs):
    """Mean of W over AVERAGE_SAMPLES fixed-seed z (a PaddleGAN file stores none)."""
    gen = StyleGAN2Generator(**kwargs)
    gen.set_state_dict(to_tensors(state))
    rng = np.random.RandomState(AVERAGE_SEED)
    total = np.zeros([kwargs["style_dim"]], np.float64)
    with paddle.no_grad():
        for start in range(0, AVERAGE_SAMPLES, 10_000):
            z = rng.standard_normal([min(10_000, AVERAGE_SAMPLES - start), kwargs["style_dim"]]).astype("float32")
            total += gen.get_latent(paddle.to_tensor(z)).sum(0).numpy()
    return (total / AVERAGE_SAMPLES).astype(np.float32)


def _from_paddle(state, path):
    result = Converted("PaddleGAN / ppgan")
    if any(k.startswith("style.") for k in state):  # a PaddleGAN generator file: no average inside
        gstate = {k: np.asarray(v) for k, v in state.items()}
        mapped, kwargs = _generator(gstate, path, "generator")
        avg = None
        untracked = float(np.asarray(mapped.get("w_avg_updates", [0])).reshape(-1)[0]) == 0
        if untracked and not is_stylegan1_state(gstate):
            avg = _paddle_average(mapped, kwargs)
            result.notes.append(f"no average in the file: w_avg = mean of W over {AVERAGE_SAMPLES} z "
                                f"(numpy seed {AVERAGE_SEED})")
        _add(result, "gen_ema", mapped, kwargs, w_avg=avg)
        return result
    if (any(k.startswith("convs.") for k in state) and "final_linear.0.weight" in state) or \
            "from_rgbs.0.conv.weight" in state:
        _add(result, "disc", *_discriminator({k: np.asarray(v) for k, v in state.items()}, path, "disc"))
        return result
    picked = {k: state[k] for k in ("gen", "gen_ema", "disc") if isinstance(state.get(k), dict)}
    if not picked:
        raise UserError(f"{path}: not a StyleGAN / StyleGAN2 generator, discriminator or checkpoint "
                        f"(keys: {sorted(state)[:8]})")
    for name, net_state in picked.items():
        arrays = {k: np.asarray(v) for k, v in net_state.items()}
        if name == "disc":
            _add(result, name, *_discriminator(arrays, path, name))
        else:
            _add(result, name, *_generator(arrays, path, name))
    return result


def convert_checkpoint(path):
    """A ``Converted`` from any supported file (format detected from the contents)."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if zipfile.is_zipfile(path) or _head(path) == TORCH_LEGACY_HEAD:
        return _from_rosinality(read_torch(path), path)
    if path.lower().endswith(".pkl"):
        data = read_pickle(path)
        if isinstance(data, tuple) and len(data) == 3 and all(isinstance(n, TFNetwork) for n in data):
            return _from_tf(data, path)
        if isinstance(data, dict) and any(isinstance(data.get(k), TorchModule) for k in ("G", "G_ema", "D")):
            return _from_ada(data, path)
        raise UserError(f"{path}: a pickle, but not an NVIDIA StyleGAN / StyleGAN2 network pickle "
                        f"({type(data).__name__})")
    if path.lower().endswith((".pt", ".pth")):
        raise UserError(f"{path}: not a PyTorch checkpoint (neither torch.save's zip nor its legacy format)")
    return _from_paddle(load_state(path), path)


def describe(result):
    """Lines saying what was found."""
    lines = [f"found: {result.family}; networks: {', '.join(sorted(result.nets))}"]
    g = result.kwargs.get("generator")
    if g:
        maps = (f"fmap_base {g['fmap_base']}, fmap_max {g['fmap_max']}" if "fmap_base" in g else
                f"channel_base {g['channel_base']}, channel_max {g['channel_max']}")
        lines.append(f"generator ({result.classes['generator']}): {g['size']}px, style_dim {g['style_dim']}, "
                     f"mapping depth {g['n_mlp']}, {maps}")
    d = result.kwargs.get("discriminator")
    if d:
        maps = (f"fmap_base {d['fmap_base']}, fmap_max {d['fmap_max']}" if "fmap_base" in d else
                f"channel_base {d['channel_base']}, channel_max {d['channel_max']}")
        group = d.get("stddev_group", d.get("mbstd_group_size"))
        lines.append(f"discriminator ({result.classes['discriminator']}): {d['size']}px, {maps}, "
                     f"minibatch-stddev group {group}")
    return lines + result.notes


def convert_file(src, dst):
    """Convert ``src`` and write ``dst`` (never over the source); returns (nets written, lines to print)."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise UserError("--dst must differ from --src (the source is never overwritten)")
    result = convert_checkpoint(src)
    out = {name: {k: paddle.to_tensor(np.ascontiguousarray(v)) for k, v in state.items()}
           for name, state in result.nets.items()}
    model = {}
    if "generator" in result.kwargs:
        model["generator"] = dict(name=result.classes["generator"], **result.kwargs["generator"])
    if "discriminator" in result.kwargs:
        model["discriminator"] = dict(name=result.classes["discriminator"], **result.kwargs["discriminator"])
    out["meta"] = {"source": os.path.basename(src), "family": result.family, "config": {"model": model}}
    atomic_write(dst, lambda tmp: paddle.save(out, tmp))
    return sorted(result.nets), describe(result)
