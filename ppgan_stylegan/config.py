"""YAML configs in PaddleGAN's schema: loading and ``-o key.sub=value`` overrides."""
import os

import yaml
from ppgan.utils.config import AttrDict


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
        raise ValueError(f"-o {option!r}: expected key=value")
    key, value = option.split("=", 1)
    parts = key.split(".")
    node = cfg
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"-o {option!r}: {'.'.join(parts[:i + 1])!r} is not in the config")
    leaf = parts[-1]
    parsed = parse_value(value)
    if isinstance(node, list):
        node[int(leaf)] = parsed
    else:
        node[leaf] = parsed
    return cfg


def load_config(path, overrides=()):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    for option in overrides or ():
        apply_override(cfg, option)
    return to_attrdict(cfg)
