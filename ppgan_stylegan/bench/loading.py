"""Reading a large weight file: ``paddle.load`` (which unpickles anything) against our restricted reader
(``core.state.load_state``), on a converted config-f checkpoint (G, G_ema and D) written the way ``convert``
writes it. The benchmark reads a file it wrote itself: it is the one place besides ``core.pickles`` that calls
``paddle.load``."""
import os
import statistics
import tempfile
import time

import numpy as np
import paddle

from ..core.state import load_state, to_tensors
from ..networks import StyleGAN2Discriminator, StyleGAN2Generator


def _write_checkpoint(path, c):
    """{'gen', 'gen_ema', 'disc', 'meta'} of config-f networks at ``c['size']``, as ``convert`` writes them."""
    paddle.seed(0)
    gen, gen_ema = (StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"])
                    for _ in range(2))
    disc = StyleGAN2Discriminator(c["size"], channel_multiplier=c["cm"])
    state = {"gen": gen.state_dict(), "gen_ema": gen_ema.state_dict(), "disc": disc.state_dict(),
             "meta": {"source": "benchmark", "config": {"model": {"generator": {"size": c["size"]}}}}}
    paddle.save(state, path)
    return os.path.getsize(path)


def _ours_as_tensors(path):
    """Our reader, then every array made a tensor: what ``paddle.load`` returns."""
    state = load_state(path)
    return {name: to_tensors(part) if name in ("gen", "gen_ema", "disc") else part for name, part in state.items()}


def loading_rows(name, c, repeat):
    """Two rows: median seconds of ``paddle.load`` ('ppgan_s': what ppgan and Paddle use) and of ours (arrays; and
    arrays made tensors, as ``paddle.load`` returns them), alternated."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "converted.pdparams")
        size = _write_checkpoint(path, c)
        times = {"paddle": [], "ours": [], "ours_tensors": []}
        readers = (("paddle", paddle.load), ("ours", load_state), ("ours_tensors", _ours_as_tensors))
        for i in range(repeat + 1):  # the first round warms the page cache
            for impl, read in readers:
                start = time.perf_counter()
                state = read(path)
                seconds = time.perf_counter() - start
                if i:
                    times[impl].append(seconds)
                del state
        ours, theirs = load_state(path)["gen"], paddle.load(path)["gen"]
        assert all(np.array_equal(np.asarray(theirs[k]), ours[k]) for k in theirs)
    theirs = statistics.median(times["paddle"])
    rows = []
    for impl, what in (("ours", "arrays"), ("ours_tensors", "then tensors")):
        ours = statistics.median(times[impl])
        op = f"read a converted {c['size']} px checkpoint ({size / 2 ** 20:.0f} MB): paddle.load vs ours ({what})"
        print(f"  {op}: paddle.load {theirs:.3f}s   ours {ours:.3f}s", flush=True)
        rows.append({"case": name, "op": op, "ppgan_s": theirs, "ours_s": ours, "ratio": theirs / ours,
                     "gflop": None, "ppgan_ops": None, "ours_ops": None, "ppgan_peak_mem_mb": None,
                     "ours_peak_mem_mb": None, "device": "cpu", "config": c})
    return rows
