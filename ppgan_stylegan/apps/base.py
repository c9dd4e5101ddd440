"""The one predictor base every application uses: load a generator, pick a device, seeds, outputs.

Accepted weight files (``paddle.load`` or ppgan's pickle format):
* a ppgan / our Trainer checkpoint or weight file: ``{'gen': ..., 'gen_ema': ..., 'disc': ...}``
  (``gen_ema`` is used when present, else ``gen``);
* a bare generator state dict, e.g. a PaddleGAN ``StyleGANv2Generator`` ``.pdparams``.
The generator's shape comes from a config (``model.generator`` of a YAML) or, without one, from
the shapes found in the weights (size, style_dim, n_mlp, channel table, is_concat).
"""
import os
import re
import sys
import traceback

import numpy as np
import paddle

from ..generators import StyleGAN2Generator
from ..generators.layers import channel_table


class UserError(Exception):
    """A problem with what the user gave us: reported in one line, no traceback."""


def load_state(path):
    """Dict from a .pdparams file in paddle's or ppgan's (pickle) format."""
    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if path.endswith(".pkl"):
        raise UserError(f"{path}: looks like an NVIDIA StyleGAN .pkl (a pickled TensorFlow/PyTorch network); "
                        "convert it to rosinality's .pt first, then use tools/convert_weights.py")
    try:
        state = paddle.load(path)
    except Exception:
        try:
            from ppgan.utils.filesystem import load
            state = load(path)
        except Exception as e:
            raise UserError(f"{path}: not a readable Paddle weight file ({type(e).__name__})")
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a dict of weights, got {type(state).__name__}")
    return state


def generator_state(state, path="weights", prefer=("gen_ema", "gen")):
    """The generator's state dict inside a checkpoint (or the dict itself when it is one)."""
    for key in prefer:
        if isinstance(state.get(key), dict):
            return state[key], key
    if any(k.startswith("style.") for k in state):
        return state, "generator"
    raise UserError(f"{path}: no generator weights (expected keys {list(prefer)} or 'style.*'; "
                    f"found {sorted(state)[:6]})")


def _shape(v):
    return list(v.shape)


def infer_generator_kwargs(gstate, path="weights"):
    """Constructor arguments of StyleGAN2Generator from the tensor shapes in its state dict."""
    try:
        mlp = sorted(int(m.group(1)) for k in gstate for m in [re.match(r"style\.(\d+)\.weight$", k)] if m)
        style_dim = _shape(gstate["style.1.weight"])[0] if mlp else _shape(gstate["conv1.conv.modulation.weight"])[0]
        n_rgbs = len({k.split(".")[1] for k in gstate if k.startswith("to_rgbs.")})
        size = 2 ** (n_rgbs + 2)
        c4 = _shape(gstate["input.input"])[1]
        is_concat = _shape(gstate["conv1.activate.bias"])[0] == 2 * c4
        channels = {4: c4}
        for j in range(n_rgbs):
            channels[2 ** (j + 3)] = _shape(gstate[f"convs.{2 * j}.conv.weight"])[1]
    except KeyError as e:
        raise UserError(f"{path}: not a StyleGAN2 generator state dict (missing {e.args[0]!r})")
    cmax = max(channels.values())
    base = channels[size] * size
    kwargs = dict(size=size, style_dim=style_dim, n_mlp=len(mlp), is_concat=is_concat, channel_multiplier=1,
                  channel_base=base, channel_max=cmax)
    if channel_table(size, 1, base, cmax) != channels:
        raise UserError(f"{path}: channel table {channels} does not follow min(channel_max, base / res)")
    return kwargs


def build_generator(weights, config=None, prefer=("gen_ema", "gen")):
    """(generator in eval mode, which entry was used) from a weight file and an optional YAML config."""
    state = load_state(weights)
    gstate, used = generator_state(state, weights, prefer)
    if config:
        from ..config import load_config
        gcfg = dict(load_config(config).model.generator)
        gcfg.pop("name", None)
    else:
        gcfg = infer_generator_kwargs(gstate, weights)
    gen = StyleGAN2Generator(**gcfg)
    expected = {k: list(v.shape) for k, v in gen.state_dict().items()}
    bad = [(k, list(v.shape), expected.get(k)) for k, v in gstate.items()
           if hasattr(v, "shape") and expected.get(k) is not None and list(v.shape) != expected[k]]
    missing = [k for k in expected if k not in gstate and not k.startswith("w_avg")]
    if bad or missing:
        detail = "; ".join(f"{k}: file {s} vs model {e}" for k, s, e in bad[:3]) or f"missing {missing[:3]}"
        raise UserError(f"{weights}: weights do not fit the generator ({detail})")
    gen.set_state_dict({k: paddle.to_tensor(np.asarray(v)) if not isinstance(v, paddle.Tensor) else v
                        for k, v in gstate.items()})
    gen.eval()
    return gen, used


def parse_seeds(text):
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UserError(f"--seeds: cannot read {part!r} (use e.g. 0-15,20)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise UserError(f"--seeds: empty range {part!r}")
        seeds += list(range(lo, hi + 1))
    return seeds


def z_from_seed(seed, style_dim):
    """NVlabs' convention: z = RandomState(seed).randn(style_dim)."""
    return np.random.RandomState(seed).standard_normal(style_dim).astype("float32")


class GeneratorPredictor:
    """Base of all applications: a generator plus device, output folder and latent helpers."""

    def __init__(self, weights, config=None, device=None, output_dir="output", prefer=("gen_ema", "gen")):
        device = device or ("gpu" if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() else "cpu")
        paddle.set_device(device)
        self.generator, self.source = build_generator(weights, config, prefer)
        self.output_dir = output_dir
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:
            raise UserError(f"--outdir {output_dir!r}: cannot create ({e.strerror})")
        if not os.access(output_dir, os.W_OK):
            raise UserError(f"--outdir {output_dir!r}: not writable")

    @property
    def n_latent(self):
        return self.generator.n_latent

    @property
    def style_dim(self):
        return self.generator.style_dim

    def path(self, name):
        return os.path.join(self.output_dir, name)

    def w_from_seeds(self, seeds, psi=1.0, cutoff=None):
        """W+ ``[len(seeds), n_latent, D]`` for seeds (truncated towards the tracked ``w_avg``)."""
        z = paddle.to_tensor(np.stack([z_from_seed(s, self.style_dim) for s in seeds]))
        with paddle.no_grad():
            w = self.generator.get_latent(z)
            wplus = w.unsqueeze(1).tile([1, self.n_latent, 1])
            return self.generator.truncate(wplus, psi, cutoff)

    def synthesize(self, wplus, noise_mode="const", batch=16):
        """Images ``[N, 3, H, W]`` in [-1, 1] from W+ latents, in batches."""
        outs = []
        with paddle.no_grad():
            for i in range(0, wplus.shape[0], batch):
                img, _ = self.generator([wplus[i:i + batch]], input_is_latent=True, noise=noise_mode)
                outs.append(img)
        return paddle.concat(outs)

    def load_latent(self, path):
        """A saved latent (.npy): W ``[D]`` / ``[1, D]`` or W+ ``[n_latent, D]`` -> W+ ``[1, n_latent, D]``."""
        if not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        try:
            arr = np.load(path).astype("float32")
        except Exception as e:
            raise UserError(f"{path}: not a .npy array ({type(e).__name__})")
        arr = arr.reshape([-1, arr.shape[-1]]) if arr.ndim else arr
        if arr.shape[-1] != self.style_dim or arr.shape[0] not in (1, self.n_latent):
            raise UserError(f"{path}: latent of shape {list(arr.shape)}, expected [{self.style_dim}] or "
                            f"[{self.n_latent}, {self.style_dim}] for this generator")
        if arr.shape[0] == 1:
            arr = np.repeat(arr, self.n_latent, axis=0)
        return paddle.to_tensor(arr[None])


def run_cli(main, argv=None, user_errors=(UserError,)):
    """Run a command-line main: user errors become one line on stderr and exit code 2 (--debug: traceback)."""
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        return main(argv)
    except user_errors as e:
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
