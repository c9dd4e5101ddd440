"""The official pixel2style2pixel checkpoints, read without torch (``convert`` and ``encode --weights x.pt``).

A ``torch.save`` dict (facts from the official ``models/psp.py`` and ``scripts/inference.py``): ``state_dict`` with
``encoder.*`` (one of the three encoder types) and ``decoder.*`` (a rosinality ``Generator(output_size, 512, 8)``),
``opts`` (a plain dict of the training options) and ``latent_avg`` (``[n_styles, 512]``, or ``[1, 512]`` with
``learn_in_w``). Older files lack ``output_size`` / ``learn_in_w``: the official inference then assumes 1024 /
False, and so do we. Every option we use is checked against the tensors; a disagreement is one line naming the
option.
"""
import math

import numpy as np

from ..core.errors import UserError
from ..core.state import check_fit
from ..data.tasks import RESIZE_FACTORS, TASK_OF_DATASET_TYPE
from ..networks.encoders import ENCODER_TYPES
from ..networks.encoders.official import official_encoder_state
from ..networks.families.weight_maps import rosinality_to_paddle
from ..networks.loading import backbone_kwargs, infer_encoder_kwargs
from .converted import Converted, add_net, mapped_generator

# the options we read, with the official defaults (options/train_options.py; inference's for the two missing ones)
OPTIONS = dict(encoder_type="GradualStyleEncoder", output_size=1024, learn_in_w=False, start_from_latent_avg=False,
               input_nc=None, label_nc=0, dataset_type=None, resize_factors=None)
OFFICIAL_INPUT_SIZE = 256  # every official transform resizes the encoder's input to 256 x 256


def is_psp_release(ckpt):
    """Whether a ``torch.save`` dict is an official pSp checkpoint (``state_dict`` with ``encoder.*`` keys)."""
    state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
    return isinstance(state, dict) and any(str(k).startswith("encoder.") for k in state)


def _options(ckpt, path):
    opts = ckpt.get("opts")
    if not isinstance(opts, dict):
        raise UserError(f"{path}: a pSp checkpoint without its 'opts' dict (found {type(opts).__name__})")
    found = {key: opts.get(key, default) for key, default in OPTIONS.items()}
    if found["encoder_type"] not in ENCODER_TYPES:
        raise UserError(f"{path}: opts['encoder_type'] is {found['encoder_type']!r}; expected one of "
                        f"{', '.join(ENCODER_TYPES)}")
    return found


def _part(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if str(k).startswith(prefix)}


def _decoder(state, opts, path):
    decoder = _part(state, "decoder.")
    if not decoder:
        raise UserError(f"{path}: a pSp checkpoint without decoder.* tensors")
    gstate, kwargs, cls = mapped_generator(rosinality_to_paddle(decoder), path, "decoder")
    if kwargs["size"] != opts["output_size"]:
        raise UserError(f"{path}: opts['output_size'] is {opts['output_size']} but the decoder makes "
                        f"{kwargs['size']} px images")
    return gstate, kwargs, cls


def _kind_of(estate):
    """The official encoder type whose head the tensors have."""
    if any(k.startswith("styles.") for k in estate):
        return "GradualStyleEncoder"
    if any(k.startswith("output_layer_2.") for k in estate):
        return "BackboneEncoderUsingLastLayerIntoWPlus"
    return "BackboneEncoderUsingLastLayerIntoW" if "linear.weight" in estate else None


def _encoder_kwargs(estate, opts, n_styles, style_dim, path):
    """Our encoder's arguments from the tensors, each option that says otherwise refused."""
    kind = opts["encoder_type"]
    kwargs = dict(backbone_kwargs(estate, path), n_styles=n_styles, style_dim=style_dim,
                  input_size=OFFICIAL_INPUT_SIZE, start_from_latent_avg=bool(opts["start_from_latent_avg"]))
    if opts["input_nc"] is not None and int(opts["input_nc"]) != kwargs["input_nc"]:
        raise UserError(f"{path}: opts['input_nc'] is {opts['input_nc']} but encoder.input_layer.0.weight takes "
                        f"{kwargs['input_nc']} channel(s)")
    if opts["label_nc"] and int(opts["label_nc"]) != kwargs["input_nc"]:
        raise UserError(f"{path}: opts['label_nc'] is {opts['label_nc']} but the encoder takes "
                        f"{kwargs['input_nc']} input channel(s)")
    if _kind_of(estate) != kind:
        raise UserError(f"{path}: opts['encoder_type'] is {kind} but the encoder's tensors are those of "
                        f"{_kind_of(estate) or 'no known pSp encoder'}")
    if kind == "GradualStyleEncoder":
        found = infer_encoder_kwargs(estate, path)
        if found["n_styles"] != n_styles:
            raise UserError(f"{path}: opts['output_size'] {opts['output_size']} means {n_styles} W+ entries, the "
                            f"encoder has {found['n_styles']} style heads")
        kwargs["input_size"] = found["input_size"]
    elif kind == "BackboneEncoderUsingLastLayerIntoWPlus":
        entries = np.shape(estate["linear.weight"])[1] // style_dim
        if entries != n_styles:
            raise UserError(f"{path}: opts['output_size'] {opts['output_size']} means {n_styles} W+ entries, the "
                            f"encoder's last layer makes {entries}")
    return kwargs


def _latent_avg(ckpt, opts, n_styles, style_dim, path):
    """``latent_avg`` as ``[n_styles, D]`` (zeros when the encoder does not start from it)."""
    avg = ckpt.get("latent_avg")
    if avg is None:
        if opts["start_from_latent_avg"]:
            raise UserError(f"{path}: opts['start_from_latent_avg'] is set but the file has no latent_avg")
        return np.zeros([n_styles, style_dim], np.float32)
    avg = np.asarray(avg, np.float32).reshape([-1, style_dim])
    rows = 1 if opts["learn_in_w"] else n_styles
    if avg.shape[0] != rows:
        raise UserError(f"{path}: opts['learn_in_w'] is {bool(opts['learn_in_w'])}, so latent_avg should have "
                        f"{rows} row(s); it is {list(np.shape(ckpt['latent_avg']))}")
    return np.ascontiguousarray(np.broadcast_to(avg, [n_styles, style_dim]))


def _task(opts, input_nc):
    if opts["dataset_type"] in TASK_OF_DATASET_TYPE:
        return TASK_OF_DATASET_TYPE[opts["dataset_type"]]
    if opts["label_nc"]:
        return "sketch2face" if input_nc == 1 else "seg2face"
    return "encode"


def psp_release(ckpt, path):
    """A ``Converted`` holding ``gen`` (the decoder) and ``encoder`` (with ``latent_avg``), the encoder's config and
    the task in ``model_extra``."""
    opts = _options(ckpt, path)
    gstate, gkwargs, gcls = _decoder(ckpt["state_dict"], opts, path)
    n_styles, style_dim = 2 * int(math.log2(gkwargs["size"])) - 2, gkwargs["style_dim"]
    estate = official_encoder_state(_part(ckpt["state_dict"], "encoder."))
    kwargs = _encoder_kwargs(estate, opts, n_styles, style_dim, path)
    estate["latent_avg"] = _latent_avg(ckpt, opts, n_styles, style_dim, path)
    cls = ENCODER_TYPES[opts["encoder_type"]]
    encoder = cls(**kwargs)
    extra = sorted(set(estate) - set(encoder.state_dict()))
    if extra:
        raise UserError(f"{path}: encoder.{extra[0]} has no place in a {opts['encoder_type']} "
                        f"(opts['encoder_type'])")
    check_fit(encoder, estate, path, ignore=(), what=f"a {opts['encoder_type']}")
    result = Converted("pixel2style2pixel (official)")
    add_net(result, "gen", gstate, gkwargs, gcls)
    result.nets["encoder"] = estate
    task = _task(opts, kwargs["input_nc"])
    factors = opts["resize_factors"]
    result.model_extra = {"encoder": dict(name=cls.__name__, **kwargs), "task": task,
                          "label_nc": int(opts["label_nc"] or 0),
                          "resize_factors": [int(f) for f in str(factors).split(",")] if factors else
                          list(RESIZE_FACTORS)}
    result.notes.append(f"encoder: {opts['encoder_type']} ({kwargs['input_nc']} input channel(s), {n_styles} W+ "
                        f"entries); task {task}; latent_avg -> encoder.latent_avg")
    return result
