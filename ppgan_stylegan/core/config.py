"""YAML configs in PaddleGAN's schema: loading and ``-o key.sub=value`` overrides."""
import difflib
import inspect
import os

import yaml
from ppgan.datasets.builder import DATASETS
from ppgan.metrics.builder import METRICS
from ppgan.models.builder import MODELS
from ppgan.models.discriminators.builder import DISCRIMINATORS
from ppgan.models.generators.builder import GENERATORS
from ppgan.solver.builder import LRSCHEDULERS, OPTIMIZERS
from ppgan.utils.config import AttrDict

from .checks import check_bool, check_int, check_number, check_image_shape
from .errors import ConfigError


def to_attrdict(obj):
    if isinstance(obj, dict):
        return AttrDict({k: to_attrdict(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return [to_attrdict(v) for v in obj]
    return obj


def parse_value(text):
    """YAML scalar / list, with numbers like ``1e-4`` read as floats (YAML 1.1 wants ``1.0e-4``)."""
    value = yaml.safe_load(text) if text != "" else ""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def apply_override(cfg, option):
    """``a.b.0.c=value``: the value is parsed as YAML (numbers, lists, booleans, null)."""
    if "=" not in option:
        raise ConfigError(f"-o {option!r}: expected key=value")
    key, value = option.split("=", 1)
    parts = key.split(".")
    node = cfg
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ConfigError(f"-o {option!r}: {'.'.join(parts[:i + 1])!r} is not in the config")
    leaf = parts[-1]
    parsed = parse_value(value)
    if isinstance(node, list):
        node[int(leaf)] = parsed
    else:
        node[leaf] = parsed
    return cfg


def load_config(path, overrides=()):
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        try:
            cfg = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            raise ConfigError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})")
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    for option in overrides or ():
        apply_override(cfg, option)
    return to_attrdict(cfg)


# ---------------------------------------------------------------------------------------------- validation
TOP_LEVEL_KEYS = {"total_iters", "epochs", "output_dir", "model", "dataset", "lr_scheduler", "optimizer", "validate",
                  "log_config", "snapshot_config", "enable_visualdl", "find_unused_parameters", "min_max",
                  "image_num", "export_model", "is_train", "profiler_options", "timestamp"}
LOADER_KEYS = {"name", "batch_size", "num_workers", "use_shared_memory"}
BLOCK_KEYS = {"log_config": {"interval", "visiual_interval"}, "snapshot_config": {"interval", "keep"},
              "validate": {"interval", "save_img", "metrics"}}


def _unknown(where, key, allowed):
    near = difflib.get_close_matches(str(key), sorted(allowed), n=1, cutoff=0.6)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (expected one of: {', '.join(sorted(allowed))})"
    return ConfigError(f"{where}.{key}: unknown key{hint}")


def init_keys(cls):
    """Keyword names ``cls(...)`` accepts, following ``**kwargs`` up the class hierarchy (None: anything)."""
    keys = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        keys |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return keys
    return None


def check_kwargs(where, kwargs, cls, extra=()):
    """``kwargs`` for ``cls(**kwargs)`` (plus ``extra`` keys read elsewhere), or a ConfigError naming the
    first unknown key and the nearest known one."""
    allowed = init_keys(cls)
    if allowed is not None:
        allowed = allowed | set(extra)
        for key in kwargs:
            if key not in allowed:
                raise _unknown(where, key, allowed - {"params"})  # ppgan's catch-all, never a suggestion
    return kwargs


def _ours(cls):
    return cls.__module__.startswith("ppgan_stylegan.")


def check_block(where, block, registry, extra=(), anyones=False, filled=()):
    """Keys of a ``{name: ..., ...}`` block built by one of our registered classes (``anyones``: by any class
    of the registry; ``filled``: arguments the builder passes itself, so the block must not set them)."""
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'name', got {block!r}")
    name = block.get("name")
    cls = registry._obj_map.get(name) if name else None
    if name and cls is None:
        near = difflib.get_close_matches(str(name), list(registry._obj_map), n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(f"{where}.name: {name!r} is not registered{hint}")
    for key in filled:
        if key in block:
            raise ConfigError(f"{where}.{key}: set by the trainer, not here ({filled[key]})")
    if cls is not None and (anyones or _ours(cls)):
        check_kwargs(where, block, cls, extra={"name"} | set(extra))
    return cls


OPTIMIZER_FILLED = {"learning_rate": "the lr_scheduler block's learning_rate", "parameters": "the nets of net_names"}
OPTIMIZER_RANGES = {"beta1": (0.0, 1.0), "beta2": (0.0, 1.0), "epsilon": (0.0, None), "weight_decay": (0.0, None),
                    "momentum": (0.0, 1.0), "rho": (0.0, 1.0)}


def check_solver(cfg):
    """The optimizer and lr_scheduler blocks, built by ppgan's OPTIMIZERS / LRSCHEDULERS (Paddle's classes):
    registered names, keys their constructors take, numbers in range."""
    scheduler = cfg.get("lr_scheduler")
    if scheduler is not None:
        check_block("lr_scheduler", scheduler, LRSCHEDULERS, anyones=True)
        if "learning_rate" in scheduler:
            check_number("lr_scheduler.learning_rate", scheduler["learning_rate"], low=0.0)
        milestones = scheduler.get("milestones")
        if milestones is not None and (not isinstance(milestones, list) or not all(
                isinstance(m, int) and not isinstance(m, bool) for m in milestones) or milestones != sorted(milestones)):
            raise ConfigError(f"lr_scheduler.milestones: expected a rising list of iterations, got {milestones!r}")
    optimizers = cfg.get("optimizer")
    if optimizers is None:
        return
    if not isinstance(optimizers, dict):
        raise ConfigError(f"optimizer: expected a mapping of optimizers (e.g. optimG: {{name: Adam, ...}}), got "
                          f"{optimizers!r}")
    for opt_name, block in optimizers.items():
        where = f"optimizer.{opt_name}"
        check_block(where, block, OPTIMIZERS, extra={"net_names"}, anyones=True, filled=OPTIMIZER_FILLED)
        nets = block.get("net_names")
        if not isinstance(nets, list) or not nets or not all(isinstance(n, str) for n in nets):
            raise ConfigError(f"{where}.net_names: expected a list of network names (e.g. [gen]), got {nets!r}")
        for key, (low, high) in OPTIMIZER_RANGES.items():
            if key in block:
                check_number(f"{where}.{key}", block[key], low, high)


def validate_config(cfg):
    """Unknown keys (with the nearest known one) and impossible values in the blocks our classes build."""
    for key in cfg:
        if key not in TOP_LEVEL_KEYS:
            raise _unknown("config", key, TOP_LEVEL_KEYS)
    if "model" not in cfg:
        raise ConfigError("config: no 'model' block")
    model_cls = check_block("model", cfg.model, MODELS)
    if model_cls is not None and _ours(model_cls):
        for sub, registry in [("generator", GENERATORS), ("discriminator", DISCRIMINATORS), ("encoder", GENERATORS)]:
            if isinstance(cfg.model.get(sub), dict) and cfg.model[sub].get("name"):
                check_block(f"model.{sub}", cfg.model[sub], registry)
                if cfg.model[sub].get("size") is not None:
                    check_image_shape(cfg.model[sub]["size"], where=f"model.{sub}.size")
    check_solver(cfg)
    for split, block in (cfg.get("dataset") or {}).items():
        check_block(f"dataset.{split}", block, DATASETS, extra=LOADER_KEYS)
        if "batch_size" in block:
            check_int(f"dataset.{split}.batch_size", block["batch_size"])
        if "num_workers" in block:
            check_int(f"dataset.{split}.num_workers", block["num_workers"], minimum=0)
        for key in ("use_shared_memory", "hflip"):
            if key in block:
                check_bool(f"dataset.{split}.{key}", block[key])
    if "save_img" in (cfg.get("validate") or {}):
        check_bool("validate.save_img", cfg.validate.save_img)
    for block, allowed in BLOCK_KEYS.items():
        for key in cfg.get(block) or {}:
            if key not in allowed:
                raise _unknown(block, key, allowed)
    for name, metric in ((cfg.get("validate") or {}).get("metrics") or {}).items():
        check_block(f"validate.metrics.{name}", metric, METRICS, anyones=True)
    if "total_iters" in cfg:
        check_int("total_iters", cfg.total_iters)
    for where, value, minus_one in [("log_config.interval", (cfg.get("log_config") or {}).get("interval"), False),
                                    ("log_config.visiual_interval",
                                     (cfg.get("log_config") or {}).get("visiual_interval"), False),
                                    ("snapshot_config.interval", (cfg.get("snapshot_config") or {}).get("interval"),
                                     False),
                                    ("snapshot_config.keep", (cfg.get("snapshot_config") or {}).get("keep"), False),
                                    ("validate.interval", (cfg.get("validate") or {}).get("interval"), True)]:
        if value is not None:
            check_int(where, value, allow=(-1,) if minus_one else ())
    return cfg
