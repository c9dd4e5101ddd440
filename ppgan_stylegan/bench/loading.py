"""Reading a large weight file: ``paddle.load`` (which unpickles anything) against our restricted reader
(``core.state.load_state``), on a converted config-f checkpoint (G, G_ema and D) written the way ``convert``
writes it: the read alone, and the read followed by loading the three networks (what a command does). The
benchmark reads a file it wrote itself: it is the one place besides ``core.pickles`` that calls ``paddle.load``."""
import os
import statistics
import tempfile
import time

import numpy as np
import paddle

from ..core.state import load_into, load_state
from ..networks import StyleGAN2Discriminator, StyleGAN2Generator

NETS = ("gen", "gen_ema", "disc")


def _networks(c):
    paddle.seed(0)
    widths = dict(channel_multiplier=c["cm"], channel_max=c.get("channel_max", 512))
    gen, gen_ema = (StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], **widths) for _ in range(2))
    return {"gen": gen, "gen_ema": gen_ema, "disc": StyleGAN2Discriminator(c["size"], **widths)}


def _write_checkpoint(path, nets, c):
    """{'gen', 'gen_ema', 'disc', 'meta'} of config-f networks at ``c['size']``, as ``convert`` writes them."""
    state = {name: net.state_dict() for name, net in nets.items()}
    state["meta"] = {"source": "benchmark", "config": {"model": {"generator": {"size": c["size"]}}}}
    paddle.save(state, path)
    return os.path.getsize(path)


def _readers(path, nets):
    """name -> call: each implementation's read alone, and read + load into the networks."""
    def paddle_into():
        state = paddle.load(path)
        for name in NETS:
            nets[name].set_state_dict(state[name])

    def ours_into():
        state = load_state(path)
        for name in NETS:
            load_into(nets[name], state[name], path, what=name)
    return {"paddle": lambda: paddle.load(path), "ours": lambda: load_state(path), "paddle_into": paddle_into,
            "ours_into": ours_into}


def _row(name, c, op, theirs, ours):
    print(f"  {op}: paddle.load {theirs:.3f}s   ours {ours:.3f}s", flush=True)
    return {"case": name, "op": op, "ppgan_s": theirs, "ours_s": ours, "ratio": theirs / ours, "gflop": None,
            "ppgan_ops": None, "ours_ops": None, "ppgan_peak_mem_mb": None, "ours_peak_mem_mb": None,
            "device": "cpu", "config": c}


def loading_rows(name, c, repeat):
    """Two rows (median seconds, the implementations alternated; 'ppgan_s' is ``paddle.load``, what ppgan and
    Paddle use): the read alone, and the read plus loading G, G_ema and D."""
    nets = _networks(c)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "converted.pdparams")
        size = _write_checkpoint(path, nets, c)
        readers = _readers(path, nets)
        times = {impl: [] for impl in readers}
        for i in range(repeat + 1):  # the first round warms the page cache
            for impl, read in readers.items():
                start = time.perf_counter()
                read()
                if i:
                    times[impl].append(time.perf_counter() - start)
        ours, theirs = load_state(path)["gen"], paddle.load(path)["gen"]
        assert all(np.array_equal(np.asarray(theirs[k]), ours[k]) for k in theirs)
    med = {impl: statistics.median(t) for impl, t in times.items()}
    what = f"a converted {c['size']} px checkpoint ({size / 2 ** 20:.0f} MB)"
    return [_row(name, c, f"read {what}: paddle.load vs ours", med["paddle"], med["ours"]),
            _row(name, c, f"read {what} and load G, G_ema, D", med["paddle_into"], med["ours_into"])]
