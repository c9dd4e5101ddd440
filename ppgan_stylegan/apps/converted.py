"""What a weight import found (``Converted``) and our state dicts of its networks from mapped arrays: shared by
``convert`` (every StyleGAN release) and ``psp_release`` (the official pSp checkpoints)."""
import numpy as np

from ..networks.families import fill_state, require_discriminator_family, require_generator_family


class Converted:
    """What a source held, in our layouts: ``nets`` {'gen', 'gen_ema', 'disc'}, what was found (``family``),
    the networks' constructor arguments and classes, notes for the user, and more of the model's config
    (``model_extra``: a pSp file's encoder and task)."""

    def __init__(self, family):
        self.family, self.nets, self.kwargs, self.classes, self.notes = family, {}, {}, {}, []
        self.model_extra = {}


# ----------------------------------------------------------------------------- our state dicts from mapped arrays

def mapped_generator(gstate, path, what, extra=None):
    """(our full state dict, constructor arguments, class) of a generator of any family in the table; an
    average in the file counts as tracked."""
    family = require_generator_family(gstate, path)
    kwargs = dict(family.generator_kwargs(gstate, path), **(extra or {}))
    state = fill_state(family.generator(**kwargs), gstate, path, what)
    if "w_avg" in gstate and "w_avg_updates" not in gstate:
        state["w_avg_updates"] = np.ones([1], np.float32)
    return state, kwargs, family.generator


def mapped_discriminator(dstate, path, what, stddev_group=4):
    family = require_discriminator_family(dstate, path)
    kwargs = family.discriminator_kwargs(dstate, stddev_group, path)
    return fill_state(family.discriminator(**kwargs), dstate, path, what), kwargs, family.discriminator


def add_net(result, name, state, kwargs, cls, w_avg=None):
    if w_avg is not None:  # an average stored beside the weights (rosinality's latent_avg, PaddleGAN's computed)
        state["w_avg"] = np.asarray(w_avg, np.float32).reshape([-1])
        state["w_avg_updates"] = np.ones([1], np.float32)
    result.nets[name] = state
    role = "discriminator" if name == "disc" else "generator"
    result.kwargs[role], result.classes[role] = kwargs, cls.__name__
