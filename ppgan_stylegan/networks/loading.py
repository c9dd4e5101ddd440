"""Networks from weight files: finding the generator (or pSp encoder) inside a file's dict and building a
network that fits it (shape from a config or from the tensor shapes; the family from ``networks.families``).

Accepted files:
* a ppgan / our Trainer checkpoint or weight file: ``{'gen': ..., 'gen_ema': ..., 'disc': ...}``
  (``gen_ema`` is used when present, else ``gen``);
* a bare generator state dict, e.g. a PaddleGAN ``StyleGANv2Generator`` ``.pdparams``.
"""
import numpy as np

from ..core.config import load_config
from ..core.errors import UserError
from ..core.state import load_into, load_state
from .encoders import encoder_class
from .families import family_of_class, generator_family, require_generator_family


def generator_state(state, path="weights", prefer=("gen_ema", "gen")):
    """The generator's state dict inside a checkpoint (or the dict itself when it is one).

    Also finds the ``decoder.*`` of a PaddleGAN ``Pixel2Style2Pixel`` file.
    """
    for key in prefer:
        if isinstance(state.get(key), dict):
            return state[key], key
    if generator_family(state):
        return state, "generator"
    decoder = {k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")}
    if decoder and generator_family(decoder):
        return decoder, "decoder"
    raise UserError(f"{path}: no generator weights (expected keys {list(prefer)} or a generator's state dict; "
                    f"found {sorted(state)[:6]})")


def _shape(v):
    return list(v.shape)


def generator_from_state(gstate, gcfg=None, path="weights"):
    """A generator of ``gstate``'s family (the config's class when ``gcfg`` names one) in eval mode, built from
    ``gcfg`` or the shapes in ``gstate``, holding ``gstate``."""
    family = family_of_class(gcfg.get("name")) if gcfg and gcfg.get("name") else None
    family = family or require_generator_family(gstate, path)
    gcfg = dict(gcfg or family.generator_kwargs(gstate, path))
    gcfg.pop("name", None)
    gen = family.generator(**gcfg)
    try:
        load_into(gen, gstate, path, strict=True)
    except UserError as e:
        raise UserError(f"{e} {_what_the_file_is(family, gstate, gcfg, path)}") from None
    gen.eval()
    return gen


def _what_the_file_is(family, gstate, gcfg, path):
    """For a mismatch: the file's generator as its shapes tell it, beside the config's (size, channels, c_dim)."""
    try:
        found = family.generator_kwargs(gstate, path)
    except Exception:  # (a file of another family: its shapes do not read as this one's; the keys said enough)
        return ""
    keys = [k for k in ("size", family.generator.channels_key, "c_dim", "style_dim") if k in found and k in gcfg]
    differ = [f"{k} {found[k]} (the config: {gcfg[k]})" for k in keys if found[k] != gcfg[k]]
    return f"- the file's generator has {', '.join(differ)}" if differ else ""


def _saved_generator_config(state, family):
    """The generator config a file of ours records (``meta.config.model.generator``) when it names ``family``'s
    class: what the shapes cannot tell (a v1 generator's fused_scale, structure, ...)."""
    saved = (((state.get("meta") or {}).get("config") or {}).get("model") or {}).get("generator") or {}
    return dict(saved) if saved.get("name") == family.generator.__name__ else None


def load_generator(weights, config=None, prefer=("gen_ema", "gen"), state=None):
    """(generator in eval mode, which entry was used) from a weight file and an optional YAML config."""
    state = load_state(weights) if state is None else state
    gstate, used = generator_state(state, weights, prefer)
    gcfg = None
    if config:
        gcfg = load_config(config).model.generator
    else:
        family = require_generator_family(gstate, weights)
        gcfg = None if family.shapes_tell_all else _saved_generator_config(state, family)
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


def backbone_kwargs(estate, path="weights"):
    """The IR-SE stem's arguments from a pSp encoder state dict (our names): input channels, stage widths and
    units (the widths of the 4 stages must differ), IR or IR-SE units."""
    try:
        input_nc = _shape(estate["input_layer.0.weight"])[1]
        n_units = len({k.split(".")[1] for k in estate if k.startswith("body.")})
        depths = [_shape(estate[f"body.{i}.res_layer.1.weight"])[0] for i in range(n_units)]
    except KeyError as e:
        raise UserError(f"{path}: not a pSp encoder state dict (missing {e.args[0]!r})")
    widths = sorted(set(depths), key=depths.index)
    if len(widths) != 4:
        raise UserError(f"{path}: cannot tell the encoder's 4 stages from its widths {widths}; give --config")
    return dict(input_nc=input_nc, widths=widths, units=[depths.count(w) for w in widths],
                mode="ir_se" if "body.0.res_layer.5.fc1.weight" in estate else "ir")


def infer_encoder_kwargs(estate, path="weights"):
    """PSPEncoder (GradualStyleEncoder) arguments from the tensor shapes of its state dict."""
    try:
        n_styles = len({k.split(".")[1] for k in estate if k.startswith("styles.")})
        style_dim = _shape(estate["styles.0.linear.weight"])[1]
        last = n_styles - 1
        stride = 4 if last >= 7 else 8 if last >= 3 else 16
        n_convs = len({k.split(".")[3] for k in estate if k.startswith(f"styles.{last}.convs.")})
    except KeyError as e:
        raise UserError(f"{path}: not a pSp encoder state dict (missing {e.args[0]!r})")
    stem = backbone_kwargs(estate, path)
    return dict(n_styles=n_styles, style_dim=style_dim, input_nc=stem["input_nc"], widths=stem["widths"],
                units=stem["units"], input_size=stride * 2 ** n_convs, mode=stem["mode"])


def encoder_from_state(state, path="weights", config=None):
    """A pSp encoder (eval mode; the class the config names, PSPEncoder by default) holding the encoder of
    ``state`` (shape from ``config``, the file's own record, or the weights)."""
    estate, saved_cfg = encoder_state(state, path)
    cfg = dict(config or saved_cfg or infer_encoder_kwargs(estate, path))
    cls = encoder_class(cfg.pop("name", None) or "PSPEncoder", f"{path}: encoder name")
    cfg.setdefault("n_styles", len({k.split(".")[1] for k in estate if k.startswith("styles.")}))
    if "styles.0.linear.weight" in estate:
        cfg.setdefault("style_dim", _shape(estate["styles.0.linear.weight"])[1])
    if "input_layer.0.weight" in estate:  # (a training config leaves it to the task)
        cfg.setdefault("input_nc", _shape(estate["input_layer.0.weight"])[1])
    encoder = cls(**cfg)
    load_into(encoder, estate, path, ignore=(), what="the pSp encoder")
    encoder.eval()
    return encoder
