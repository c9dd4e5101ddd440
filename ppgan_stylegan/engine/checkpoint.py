"""Checkpoint files of a training run: what they hold, writing them atomically, reading them back with checks.

A checkpoint (``iter_N_checkpoint.pdparams``) holds every net, every optimizer (LR schedulers inside),
``epoch`` (ppgan's key for the last completed iteration), the model's extra state (``get_extra_state``:
lazy-regularisation phase, path-length mean, images seen, augmentation, loss scalers) and ``meta``
(iteration, seed, versions, the config, time). A weight file (``iter_N_weight.pdparams``) holds the nets
and ``meta``. Both are written with ``core.files.atomic_write``; older checkpoints are removed only after
the new one is complete.
"""
import datetime
import logging
import os

from ppgan.utils.filesystem import save as ppgan_save

from ..core.errors import UserError
from ..core.files import atomic_write, is_stale_temporary
from ..core.state import check_fit, load_state, settable
from ..core.versions import versions
from ..networks.families import generator_family

logger = logging.getLogger("ppgan_stylegan")


def checkpoint_path(output_dir, iteration, name="checkpoint"):
    return os.path.join(output_dir, f"iter_{iteration}_{name}.pdparams")


def plain(obj):
    """AttrDict / nested containers -> plain dicts and lists (picklable without ppgan)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def diff(old, new, prefix):
    """{dotted key: (old, new)} for leaves that differ between two nested dicts."""
    out = {}
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.update(diff(a, b, f"{prefix}.{key}"))
        elif a != b:
            out[f"{prefix}.{key}"] = (a, b)
    return out


def training_state(model, iteration, seed, cfg, full=True, meta=None):
    """The dict a checkpoint (``full``) or a weight file holds (``meta``: more entries for its ``meta``)."""
    state = {net_name: net.state_dict() for net_name, net in model.nets.items()}
    if full:
        state["epoch"] = iteration
        for opt_name, opt in model.optimizers.items():
            state[opt_name] = opt.state_dict()
        state["model_state"] = model.get_extra_state() if hasattr(model, "get_extra_state") else {}
    seen = {"images_seen": int(model.cur_nimg)} if hasattr(model, "cur_nimg") else {}  # (GAN training: global)
    state["meta"] = {"iteration": iteration, **seen, "seed": seed, "versions": versions(), "config": plain(cfg),
                     "saved_at": datetime.datetime.now().isoformat(), **(meta or {})}
    return state


def write(state, path):
    """Write ``state`` in ppgan's pickle format so that ``path`` is always either the old or the new file."""
    return atomic_write(path, lambda tmp: ppgan_save(state, tmp))


def prune(output_dir, keep):
    """Keep the ``keep`` newest ``iter_K_checkpoint.pdparams`` (by K) and remove the others; called right after
    a checkpoint was completed, so the newest complete one is always kept."""
    found = sorted((int(name.split("_")[1]), name) for name in os.listdir(output_dir)
                   if name.startswith("iter_") and name.endswith("_checkpoint.pdparams"))
    for _, name in found[:-keep] if keep > 0 else []:
        os.remove(os.path.join(output_dir, name))


def remove_stale_temporaries(output_dir):
    """Half-written files of a process killed while saving (``.<name>.tmp-<pid>``): never loaded, removed."""
    if not os.path.isdir(output_dir):
        return
    for name in os.listdir(output_dir):
        if is_stale_temporary(name):
            os.remove(os.path.join(output_dir, name))
            logger.info(f"removed {name}, left by an interrupted save")


def load_nets(model, path, state, required, model_cfg):
    """Check every net's weights in ``state`` against ``model`` (first mismatching keys / shapes), then load
    them; log how the file's versions and model config differ from this run's. Returns the loaded nets."""
    for net_name in required:
        if net_name not in state:
            raise UserError(f"{path}: not a training checkpoint of this model (missing {net_name!r}; "
                            f"found {sorted(state)[:8]}); use --load for weight files")
    nets = {name: net for name, net in model.nets.items() if name in state}
    if not nets:
        raise UserError(f"{path}: holds none of this model's nets {sorted(model.nets)} (found {sorted(state)[:8]})")
    for net_name, net in nets.items():  # all checked before any is changed
        check_fit(net, state[net_name], path, ignore=("w_avg",), what=f"the model's {net_name!r}")
    for net_name, net in nets.items():
        net.set_state_dict(settable(state[net_name]))
    explain_meta(path, state.get("meta"), model_cfg)
    return nets


def explain_meta(path, meta, model_cfg):
    """Log how the file's versions and model config differ from this run's."""
    if not meta:
        return
    now = versions()
    for key, then in (meta.get("versions") or {}).items():
        if key in now and now[key] != then:
            logger.warning(f"{path}: written with {key} {then}, running {now[key]}")
    changed = diff(meta.get("config", {}).get("model", {}), plain(model_cfg), "model")
    for key, (then, current) in list(changed.items())[:10]:
        logger.warning(f"{path}: {key} was {then!r} when it was written, now {current!r}")


def read_weights(path, model):
    """A weight file or checkpoint for ``--load``; a bare generator file (PaddleGAN's ``StyleGANv2Generator``)
    initialises ``gen`` and ``gen_ema``."""
    state = load_state(path)
    if not any(name in state for name in model.nets) and generator_family(state):
        state = {"gen": state, "gen_ema": state}
    return state


def read_checkpoint(path, model):
    """A training checkpoint for ``--resume``, or a one-line UserError naming what it lacks."""
    state = load_state(path)
    required = ["epoch"] + list(model.nets) + list(model.optimizers)
    missing = [k for k in required if k not in state]
    if missing:
        raise UserError(f"{path}: not a training checkpoint (missing {missing[0]!r}); use --load for weight files")
    return state
