"""Network blending by layer swapping (Pinkney & Adler, "Resolution Dependent GAN Interpolation for Controllable
Image Synthesis Between Domains", 2020): the layers below ``swap_res`` from the base generator (pose, face shape),
those at ``swap_res`` and above from the one fine-tuned on another domain (``stylegan_v2_finetune.yaml``). The
mapping network and its ``w_avg`` come from the base, so W codes of the base (e.g. a pSp encoder's) stay
meaningful in the blend: toonify = encode a photo with an encoder of the base, render with the blend.
"""
import os

import numpy as np
import paddle

from ..core.errors import UserError
from ..core.files import atomic_write
from ..core.state import load_state
from ..networks.families import require_generator_family
from ..networks.loading import generator_state


def _generator(path):
    gstate, used = generator_state(load_state(path), path)
    family = require_generator_family(gstate, path)
    return {k: np.asarray(v) for k, v in gstate.items()}, family, family.generator_kwargs(gstate, path)


def blend_states(base, tuned, swap_res, layer_resolution):
    """``{key: array}``: the tuned generator's tensor where ``layer_resolution(key) >= swap_res``, else the base's."""
    out = {}
    for key, value in base.items():
        res = layer_resolution(key)
        out[key] = tuned[key] if res is not None and res >= swap_res else value
    return out


def blend_files(base_path, tuned_path, swap_res, dst):
    """Write the blend of two generator files of the same architecture to ``dst``; returns a line to print."""
    base, family, kwargs = _generator(base_path)
    tuned, tuned_family, tuned_kwargs = _generator(tuned_path)
    if family.layer_resolution is None:
        raise UserError(f"{base_path}: blending is offered for StyleGAN2 generators, not {family.name}")
    if (tuned_family, tuned_kwargs) != (family, kwargs) or set(base) - set(tuned):
        raise UserError(f"--tuned {tuned_path}: another architecture than --base {base_path} ({tuned_kwargs} vs "
                        f"{kwargs}); blend a generator with one fine-tuned from it")
    size = kwargs["size"]
    if swap_res not in [2 ** i for i in range(2, int(np.log2(size)) + 1)]:
        raise UserError(f"--swap-res {swap_res}: expected a power of two from 4 to the generator's {size}")
    if os.path.abspath(dst) in (os.path.abspath(base_path), os.path.abspath(tuned_path)):
        raise UserError("--dst must differ from --base and --tuned (the sources are never overwritten)")
    blended = blend_states(base, tuned, swap_res, family.layer_resolution)
    meta = {"config": {"model": {"generator": dict(name=family.generator.__name__, **kwargs)}},
            "blend": {"base": os.path.basename(base_path), "tuned": os.path.basename(tuned_path),
                      "swap_res": int(swap_res)}}
    out = {"gen_ema": {k: paddle.to_tensor(np.ascontiguousarray(v)) for k, v in blended.items()}, "meta": meta}
    atomic_write(dst, lambda tmp: paddle.save(out, tmp))
    return f"wrote {dst}: layers below {swap_res} px (and the mapping) from {base_path}, {swap_res} px and up " \
           f"from {tuned_path}"
