"""The table of network families: one row per family says how to recognise its state dicts, which classes build
it, how their arguments follow from the tensor shapes and how its releases map onto our parameter names.

Loading (``networks.loading``), conversion (``apps.convert``), the applications and training ask this table;
no other module looks at family-specific keys. Adding a family: its generator / discriminator modules, a module
here reading its state dicts (as ``stylegan2.py``), its converter maps in ``weight_maps.py`` and one row below
(docs/architecture.md, "A generator family").
"""
from typing import Callable, NamedTuple, Optional

from ...core.errors import UserError
from ..discriminators import StyleGAN2Discriminator, StyleGANDiscriminator
from ..generators import StyleGAN2Generator, StyleGANGenerator
from . import stylegan1, stylegan2, weight_maps
from .weight_maps import fill_state


class Source(NamedTuple):
    """A release of a family in another format: ``recognise(names or tensors)``, the generator and discriminator
    maps onto our names (``weight_maps``) and what it is called (``release``)."""
    recognise: Callable
    generator: Callable
    discriminator: Callable
    release: str


class Family(NamedTuple):
    """One generator family. ``*_kwargs(state, ...)``: constructor arguments from a state dict's shapes;
    ``tf``: NVIDIA's TensorFlow release, ``ada``: stylegan2-ada-pytorch's (None: no such release);
    ``shapes_tell_all``: False when a constructor argument cannot be read from the shapes (then a file's saved
    config supplies it); ``layer_resolution(key)``: the resolution of a generator tensor (None: the mapping), for
    network blending (None: not offered)."""
    name: str
    generator: type
    discriminator: type
    is_generator: Callable
    is_discriminator: Callable
    generator_kwargs: Callable
    discriminator_kwargs: Callable
    tf: Source
    ada: Optional[Source] = None
    shapes_tell_all: bool = True
    layer_resolution: Optional[Callable] = None


STYLEGAN2 = Family("StyleGAN2", StyleGAN2Generator, StyleGAN2Discriminator, stylegan2.is_generator_state,
                   stylegan2.is_discriminator_state, stylegan2.generator_kwargs, stylegan2.discriminator_kwargs,
                   Source(stylegan2.is_tf_network, weight_maps.tf_generator, weight_maps.tf_discriminator,
                          "NVIDIA StyleGAN2 (TensorFlow)"),
                   ada=Source(stylegan2.is_ada_generator, weight_maps.ada_generator, weight_maps.ada_discriminator,
                              "NVIDIA stylegan2-ada-pytorch"), layer_resolution=stylegan2.layer_resolution)
STYLEGAN1 = Family("StyleGAN (v1)", StyleGANGenerator, StyleGANDiscriminator, stylegan1.is_generator_state,
                   stylegan1.is_discriminator_state, stylegan1.generator_kwargs, stylegan1.discriminator_kwargs,
                   Source(stylegan1.is_tf_network, weight_maps.tf_v1_generator, weight_maps.tf_v1_discriminator,
                          "NVIDIA StyleGAN (v1, TensorFlow)"),
                   shapes_tell_all=False)  # fused_scale, structure, nonlinearity

FAMILIES = (STYLEGAN2, STYLEGAN1)


def _class_name(family, role):
    return getattr(family, role).__name__


def _family_of(state, role):
    return next((f for f in FAMILIES if getattr(f, f"is_{role}")(state)), None)


def generator_family(state):
    """The family whose generator ``state`` is, or None."""
    return _family_of(state, "generator")


def discriminator_family(state):
    """The family whose discriminator ``state`` is, or None."""
    return _family_of(state, "discriminator")


def family_of_class(name):
    """The family with a generator or discriminator class called ``name`` (a config's ``name:``), or None."""
    return next((f for f in FAMILIES if name in (f.generator.__name__, f.discriminator.__name__)), None)


def tf_family(names):
    """The family of a TensorFlow network from its variable names, or None."""
    return next((f for f in FAMILIES if f.tf.recognise(names)), None)


def _require(state, path, role):
    family = _family_of(state, role)
    if family is None:
        raise UserError(f"{path}: not a {role} state dict of a known family ({', '.join(f.name for f in FAMILIES)};"
                        f" keys {sorted(state)[:6]})")
    return family


def require_generator_family(state, path):
    """``generator_family``, or a one-line UserError naming the file and its first keys."""
    return _require(state, path, "generator")


def require_discriminator_family(state, path):
    """``discriminator_family``, or a one-line UserError naming the file and its first keys."""
    return _require(state, path, "discriminator")


__all__ = ["Family", "Source", "FAMILIES", "STYLEGAN2", "STYLEGAN1", "generator_family", "discriminator_family",
           "family_of_class", "tf_family", "require_generator_family", "require_discriminator_family", "fill_state"]
