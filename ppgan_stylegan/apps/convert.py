"""Weight import from every StyleGAN / StyleGAN2 release, with neither PyTorch nor TensorFlow installed.

Sources (the format is detected from the file's contents, not its name):

* rosinality / stylegan2-pytorch ``.pt`` (``g``, ``d``, ``g_ema``, ``latent_avg``; or a bare state dict);
* NVIDIA's TensorFlow ``.pkl`` (StyleGAN2 config E/F, StyleGAN2-ADA TF): ``(G, D, Gs)`` with ``dlatent_avg``;
* NVIDIA's StyleGAN (v1) TensorFlow ``.pkl``: ``G_style`` / ``D_basic`` / ``Gs`` (-> StyleGANGenerator /
  StyleGANDiscriminator, ``dlatent_avg`` and ``lod`` kept);
* stylegan2-ada-pytorch ``.pkl`` (``G``, ``D``, ``G_ema``; any resolution, channel base / max, mapping depth);
* PaddleGAN generator ``.pdparams`` (no average inside: a deterministic one is computed and stored),
  ppgan / our weight files and checkpoints.

Readers are ``core.pickles`` (restricted unpickling, nothing from the file runs); which family a network is, and
its name maps, come from ``networks.families``. Output: one ``.pdparams`` with ``gen``, ``gen_ema``, ``disc``
(what the source has), the averages in ``gen*.w_avg`` (counted as tracked), and ``meta`` describing the networks;
our applications and ``--load`` read it.
"""
import os
import zipfile

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.pickles import TFNetwork, TorchModule, is_torch_legacy, read_pickle, read_torch
from ..core.state import load_state, to_tensors
from ..networks.families import FAMILIES, discriminator_family, generator_family, tf_family
from ..networks.families.weight_maps import rosinality_to_paddle
from .converted import Converted, add_net, mapped_discriminator, mapped_generator
from .psp_release import is_psp_release, psp_release

AVERAGE_SEED, AVERAGE_SAMPLES = 0, 100_000  # PaddleGAN files: the stored average of W


# ----------------------------------------------------------------------------- per source

def _from_rosinality(ckpt, path):
    result = Converted("rosinality stylegan2-pytorch")
    latent_avg = ckpt.get("latent_avg")
    found = {dst: ckpt[src] for src, dst in (("g_ema", "gen_ema"), ("g", "gen"), ("d", "disc"))
             if isinstance(ckpt.get(src), dict)}
    if not found and generator_family({str(k): v for k, v in ckpt.items()}):  # a bare generator state dict
        found = {"gen_ema": ckpt}
    if not found:
        raise UserError(f"{path}: a PyTorch file without a rosinality generator or discriminator "
                        f"(keys: {sorted(map(str, ckpt))[:8]})")
    for name, state in found.items():
        mapped = rosinality_to_paddle(state)
        if name == "disc":
            add_net(result, name, *mapped_discriminator(mapped, path, "d"))
        else:
            avg = latent_avg if name == "gen_ema" and latent_avg is not None else None
            add_net(result, name, *mapped_generator(mapped, path, name), w_avg=avg)
    if latent_avg is not None:
        result.notes.append("latent_avg -> gen_ema.w_avg")
    return result


def _tf_architecture(path, g_kw, d_kw):
    """NVIDIA's TensorFlow StyleGAN2 has several architectures; ours are the defaults (config E/F)."""
    if g_kw.get("architecture", "skip") != "skip" or d_kw.get("architecture", "resnet") != "resnet":
        raise UserError(f"{path}: architecture G {g_kw.get('architecture', 'skip')!r} / D "
                        f"{d_kw.get('architecture', 'resnet')!r}; supported: G 'skip', D 'resnet' (config E/F)")


def _from_tf(nets, path):
    """NVIDIA's TensorFlow pickles ``(G, D, Gs)`` of any family in the table (StyleGAN v1 G_style / D_basic,
    StyleGAN2 config E/F, StyleGAN2-ADA TF)."""
    g, d, gs = nets
    kw, d_kw = gs.static_kwargs, d.static_kwargs
    if kw.get("label_size", 0) or d_kw.get("label_size", 0):
        raise UserError(f"{path}: a conditional network (label_size {kw.get('label_size')}); only "
                        "unconditional networks are supported")
    family = tf_family(set(gs.params()))
    if family is None:
        raise UserError(f"{path}: an unrecognised TensorFlow network; supported: "
                        f"{', '.join(f.name for f in FAMILIES)} (NVIDIA's releases)")
    size, extra = int(kw.get("resolution", 1024)), None
    if family.shapes_tell_all:
        _tf_architecture(path, kw, d_kw)
    else:  # what the shapes do not tell, from the networks' own arguments (NVIDIA's defaults otherwise)
        extra = {"fused_scale": kw.get("fused_scale", "auto"),
                 "structure": "fixed" if kw.get("structure") == "fixed" else "linear",
                 "nonlinearity": kw.get("nonlinearity", "lrelu")}
    result = Converted(family.tf.release)
    add_net(result, "gen_ema", *mapped_generator(family.tf.generator(gs.params(), size), path, "Gs", extra))
    add_net(result, "gen", *mapped_generator(family.tf.generator(g.params(), size), path, "G", extra))
    group = d_kw.get("mbstd_group_size") or 4
    add_net(result, "disc", *mapped_discriminator(family.tf.discriminator(d.params(), size), path, "D", group))
    result.notes.append("dlatent_avg -> gen*.w_avg" + ("" if family.shapes_tell_all else "; lod kept"))
    return result


def _init_kwargs(module):
    kw = module.__dict__.get("_init_kwargs") or {}
    return dict(kw) if isinstance(kw, dict) else {}


def _ada_family(g_ema, kwargs, path):
    """The family of a stylegan2-ada-pytorch generator (refusing StyleGAN3 and z_dim != w_dim)."""
    synth = (g_ema.__dict__.get("_modules") or {}).get("synthesis")
    children = set((synth.__dict__.get("_modules") or {}) if isinstance(synth, TorchModule) else ())
    if "input" in children or any(c.startswith("L") and "_" in c for c in children):
        raise UserError(f"{path}: a StyleGAN3 network (synthesis layers {sorted(children)[:3]}); "
                        "supported: StyleGAN2 (stylegan2-ada-pytorch) networks")
    tensors = g_ema.named_tensors()
    family = next((f for f in FAMILIES if f.ada and f.ada.recognise(tensors)), None)
    if family is None:
        raise UserError(f"{path}: not a stylegan2-ada-pytorch generator of a known family "
                        f"(tensors {sorted(tensors)[:4]})")
    if kwargs.get("z_dim", 512) != kwargs.get("w_dim", 512):
        raise UserError(f"{path}: z_dim {kwargs.get('z_dim')} != w_dim {kwargs.get('w_dim')}; ours needs them equal")
    size = int(kwargs.get("img_resolution") or 4 * 2 ** (len([c for c in children if c.startswith("b")]) - 1))
    return family, size


def _from_ada(data, path):
    g_ema = data.get("G_ema")
    if not isinstance(g_ema, TorchModule):
        raise UserError(f"{path}: a stylegan2-ada-pytorch pickle without G_ema")
    family, size = _ada_family(g_ema, _init_kwargs(g_ema), path)
    result = Converted(family.ada.release)
    for src, dst in (("G_ema", "gen_ema"), ("G", "gen")):
        if isinstance(data.get(src), TorchModule):
            gstate = family.ada.generator(data[src].named_tensors(), size)
            add_net(result, dst, *mapped_generator(gstate, path, src))
    said, found = _init_kwargs(g_ema).get("c_dim", 0) or 0, result.kwargs["generator"].get("c_dim", 0)
    if said != found:
        raise UserError(f"{path}: G_ema says c_dim {said} but its tensors have a label embedding of width {found}")
    if isinstance(data.get("D"), TorchModule):
        d = data["D"]
        dkw = _init_kwargs(d)
        if dkw.get("architecture", "resnet") != "resnet":
            raise UserError(f"{path}: D architecture {dkw.get('architecture')!r}; supported: 'resnet'")
        group = (dkw.get("epilogue_kwargs") or {}).get("mbstd_group_size") or 4
        dstate = family.ada.discriminator(d.named_tensors(), size)
        add_net(result, "disc", *mapped_discriminator(dstate, path, "D", group))
    result.notes.append("mapping.w_avg -> gen*.w_avg")
    return result


def _paddle_average(state, kwargs, cls):
    """Mean of W over AVERAGE_SAMPLES fixed-seed z (a PaddleGAN file stores none)."""
    gen = cls(**kwargs)
    gen.set_state_dict(to_tensors(state))
    rng = np.random.RandomState(AVERAGE_SEED)
    total = np.zeros([kwargs["style_dim"]], np.float64)
    with paddle.no_grad():
        for start in range(0, AVERAGE_SAMPLES, 10_000):
            z = rng.standard_normal([min(10_000, AVERAGE_SAMPLES - start), kwargs["style_dim"]]).astype("float32")
            total += gen.get_latent(paddle.to_tensor(z)).sum(0).numpy()
    return (total / AVERAGE_SAMPLES).astype(np.float32)


def _arrays(state):
    return {k: np.asarray(v) for k, v in state.items()}


def _from_paddle(state, path):
    result = Converted("PaddleGAN / ppgan")
    if generator_family(state):  # a bare generator (a PaddleGAN generator file: no average inside)
        mapped, kwargs, cls = mapped_generator(_arrays(state), path, "generator")
        avg = None
        if float(np.asarray(mapped.get("w_avg_updates", [0])).reshape(-1)[0]) == 0:  # untracked
            avg = _paddle_average(mapped, kwargs, cls)
            result.notes.append(f"no average in the file: w_avg = mean of W over {AVERAGE_SAMPLES} z "
                                f"(numpy seed {AVERAGE_SEED})")
        add_net(result, "gen_ema", mapped, kwargs, cls, w_avg=avg)
        return result
    if discriminator_family(state):
        add_net(result, "disc", *mapped_discriminator(_arrays(state), path, "disc"))
        return result
    picked = {k: state[k] for k in ("gen", "gen_ema", "disc") if isinstance(state.get(k), dict)}
    if not picked:
        raise UserError(f"{path}: not a StyleGAN / StyleGAN2 generator, discriminator or checkpoint "
                        f"(keys: {sorted(state)[:8]})")
    for name, net_state in picked.items():
        if name == "disc":
            add_net(result, name, *mapped_discriminator(_arrays(net_state), path, name))
        else:
            add_net(result, name, *mapped_generator(_arrays(net_state), path, name))
    return result


def convert_checkpoint(path):
    """A ``Converted`` from any supported file (format detected from the contents)."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if zipfile.is_zipfile(path) or is_torch_legacy(path):
        ckpt = read_torch(path)
        return psp_release(ckpt, path) if is_psp_release(ckpt) else _from_rosinality(ckpt, path)
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
        channels = g.get("img_channels", g.get("num_channels", 3))
        lines.append(f"generator ({result.classes['generator']}): {g['size']}px, style_dim {g['style_dim']}, "
                     f"mapping depth {g['n_mlp']}, {maps}, {channels} image channel(s), c_dim {g.get('c_dim', 0)}")
    d = result.kwargs.get("discriminator")
    if d:
        maps = (f"fmap_base {d['fmap_base']}, fmap_max {d['fmap_max']}" if "fmap_base" in d else
                f"channel_base {d['channel_base']}, channel_max {d['channel_max']}")
        group = d.get("stddev_group", d.get("mbstd_group_size"))
        lines.append(f"discriminator ({result.classes['discriminator']}): {d['size']}px, {maps}, "
                     f"minibatch-stddev group {group}")
    return lines + result.notes


def converted_state(result, src):
    """What ``convert`` writes, as arrays: the networks and ``meta`` (their configs, so loading needs no YAML)."""
    out = {name: {k: np.ascontiguousarray(v) for k, v in state.items()} for name, state in result.nets.items()}
    model = dict(result.model_extra)
    if "generator" in result.kwargs:
        model["generator"] = dict(name=result.classes["generator"], **result.kwargs["generator"])
    if "discriminator" in result.kwargs:
        model["discriminator"] = dict(name=result.classes["discriminator"], **result.kwargs["discriminator"])
    out["meta"] = {"source": os.path.basename(src), "family": result.family, "config": {"model": model}}
    return out


def release_state(path):
    """Any supported file read as the dict ``convert`` would write (nothing written): e.g. ``encode --weights``
    of an official pSp ``.pt``."""
    return converted_state(convert_checkpoint(path), path)


def convert_file(src, dst):
    """Convert ``src`` and write ``dst`` (never over the source); returns (nets written, lines to print)."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise UserError("--dst must differ from --src (the source is never overwritten)")
    result = convert_checkpoint(src)
    out = converted_state(result, src)
    out.update({name: {k: paddle.to_tensor(v) for k, v in out[name].items()} for name in result.nets})
    atomic_write(dst, lambda tmp: paddle.save(out, tmp))
    return sorted(result.nets), describe(result)
