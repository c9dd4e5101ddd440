"""Speed of ppgan 2.1.0's StyleGAN2 vs ours, side by side in one process, with the same weights.

    ppgan-stylegan benchmark --out output/benchmark.json                 # CPU cases (or tools/benchmark.py)
    ppgan-stylegan benchmark --cases cpu32 --repeat 5 --out bench.json
    ppgan-stylegan benchmark --cases gpu256,gpu1024,gpu1024amp --out bench_gpu.json   # needs a GPU

For every case both implementations are built, ours loads ppgan's state dict, then the two are
timed alternately (warm-up, then ``--repeat`` runs each, or more for short ops until ours has run
for 3 s, at most 15 runs; median) on: G forward (no grad), G forward+backward, D forward+backward,
an R1 step, a path-length step, and one training iteration
through each model's ``train_iter`` on the same batch (path length off in both, R1 amortised over
its interval as in training; ours is also timed with path length on). "floor" is the time of plain
F.conv2d / conv2d_transpose calls with the shapes of the network's convolutions: G forward (no grad),
G forward+backward and D forward+backward (gradients for inputs and weights), each timed in turn with the
row it is the floor of (ppgan, ours, floor, ppgan, ...).

Settings: every case runs twice, each time in a worker process of its own: ``installed`` (Paddle's
defaults: one math thread, MKL's generic path; how ppgan runs as installed) and ``ours`` (the CPU runtime
our command lines set up, ``core.runtime``). The table compares ppgan as installed with ours as our command
line runs it, and both under the same settings; it adds the in-process sgemm rate and, for rows whose
convolutions are known, the achieved GFLOP/s, the ratio of ours to its floors, and the number of operators
(forward ops and backward nodes, counted by Paddle's profiler) one training iteration launches.
JSON rows: case, op, setting, ppgan_s, ours_s, GFLOP counts, operator counts.
"""
import paddle
from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator
from ppgan.models.styleganv2_model import StyleGAN2Model, g_path_regularize
from ppgan.models.styleganv2_model import r1_penalty as ppgan_r1

from ..core.device import use_device
from ..losses import path_length_penalty, r1_penalty
from ..models import StyleGANModel
from ..networks import StyleGAN2Discriminator, StyleGAN2Generator
from ..ops import double_backward
from .floors import FLOORS, conv_flops, conv_floor, discriminator_convs, generator_convs
from .loading import loading_rows
from .timing import MIN_SECONDS, count_ops, measure

CASES = {
    "smoke": dict(device="cpu", size=8, cm=1, batch=2, style_dim=32, n_mlp=1, amp=False,
                  min_seconds=0),  # tests only: --repeat runs, no more
    "cpu32": dict(device="cpu", size=32, cm=1, batch=4, style_dim=512, n_mlp=2, amp=False),
    "cpu64": dict(device="cpu", size=64, cm=1, batch=4, style_dim=512, n_mlp=2, amp=False),
    "gpu256": dict(device="gpu", size=256, cm=2, batch=8, style_dim=512, n_mlp=8, amp=False),
    "gpu1024": dict(device="gpu", size=1024, cm=2, batch=4, style_dim=512, n_mlp=8, amp=False),
    "gpu1024amp": dict(device="gpu", size=1024, cm=2, batch=4, style_dim=512, n_mlp=8, amp=True),
    # reading weight files (bench/loading.py): paddle.load vs our restricted reader
    "load1024": dict(kind="loading", size=1024, cm=2, style_dim=512, n_mlp=8),
    "load_smoke": dict(kind="loading", size=8, cm=1, style_dim=32, n_mlp=1, channel_max=32),  # tests only
}


OP_COUNTS = ("train iter (no reg)", "train iter (with R1)", "train iter (R1+PL, ours)")


def build_case(c, seed=0):
    paddle.seed(seed)
    g_theirs = StyleGANv2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"])
    d_theirs = StyleGANv2Discriminator(c["size"], channel_multiplier=c["cm"])
    g_ours = StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"])
    d_ours = StyleGAN2Discriminator(c["size"], channel_multiplier=c["cm"])
    g_ours.set_state_dict(g_theirs.state_dict())
    d_ours.set_state_dict(d_theirs.state_dict())
    return g_theirs, d_theirs, g_ours, d_ours


def ppgan_model(c, gen_iters=10 ** 9):
    """ppgan's StyleGAN2Model for case ``c`` (path length due every ``gen_iters`` iterations: off by default)."""
    return StyleGAN2Model(dict(name="StyleGANv2Generator", size=c["size"], style_dim=c["style_dim"],
                               n_mlp=c["n_mlp"], channel_multiplier=c["cm"]),
                          dict(name="StyleGANv2Discriminator", size=c["size"], channel_multiplier=c["cm"]),
                          gan_criterion=dict(name="GANLoss", gan_mode="logistic"),
                          num_style_feat=c["style_dim"], params=dict(gen_iters=gen_iters, disc_iters=16))


def our_model(c, pl_weight, batch_gpu=None, **model_kwargs):
    """Our StyleGANModel for case ``c`` (R1 gamma 10; ``model_kwargs``: more StyleGANModel arguments)."""
    gcfg = dict(name="StyleGAN2Generator", size=c["size"], style_dim=c["style_dim"], n_mlp=c["n_mlp"],
                channel_multiplier=c["cm"])
    dcfg = dict(name="StyleGAN2Discriminator", size=c["size"], channel_multiplier=c["cm"])
    return StyleGANModel(gcfg, dcfg, pl_weight=pl_weight, r1_gamma=10.0, batch_gpu=batch_gpu, **model_kwargs)


def adam_optimizers(model):
    """StyleGAN2's Adam (beta1 0, beta2 0.99) for G and D of ``model``."""
    return {f"optim{k}": paddle.optimizer.Adam(2e-3, beta1=0.0, beta2=0.99, parameters=model.nets[net].parameters())
            for k, net in (("G", "gen"), ("D", "disc"))}


def ppgan_iteration(model, optimizers):
    """ppgan's ``train_iter`` at iteration 16 (R1 due; path length too if its interval divides 16) or 1 (none)."""
    def run(r1):
        model.current_iter = 16 if r1 else 1
        model.train_iter(optimizers)
    return run


def our_iteration(models, optimizers):
    """Our ``train_iter`` with R1 and path length due (``r1``) or neither; ``models`` by key."""
    def run(key, r1):
        models[key].current_iter = 0 if r1 else 1  # R1 at step % 16 == 0; path length at step % 4 == 0 (with r1)
        models[key].train_iter(optimizers[key])
    return run


def model_pair(c, g_theirs, d_theirs, g_ours, d_ours, real):
    """(ppgan's iteration, ours) on the same weights and batch; ppgan's path length is off."""
    theirs = ppgan_model(c)
    theirs.nets["gen"].set_state_dict(g_theirs.state_dict())
    theirs.nets["disc"].set_state_dict(d_theirs.state_dict())
    models = {name: our_model(c, pl) for name, pl in (("pl_off", 0.0), ("pl_on", 2.0))}
    for m in models.values():
        m.nets["gen"].set_state_dict(g_ours.state_dict())
        m.nets["disc"].set_state_dict(d_ours.state_dict())
    optims = {key: adam_optimizers(m) for key, m in [("ppgan", theirs)] + list(models.items())}
    for m in [theirs] + list(models.values()):
        m.setup_input({"A": real})
    return ppgan_iteration(theirs, optims["ppgan"]), our_iteration(models, optims)


def step_fns(c, g_theirs, d_theirs, g_ours, real):
    """The single steps timed in both implementations: forward, forward+backward, R1 and path-length steps."""
    b, s = c["batch"], c["style_dim"]
    z = [paddle.randn([b, s])]

    def g_fwd(g):
        def run():
            with paddle.no_grad():
                g(z)
        return run

    def r1(d, fn):
        def run():
            x = real.detach()
            x.stop_gradient = False
            fn(d(x), x).backward()
        return run

    def pl_theirs():
        img, lat = g_theirs([paddle.randn([max(1, b // 2), s])], return_latents=True)
        g_path_regularize(img, lat, 0.0)[0].backward()

    def pl_ours():
        with double_backward():
            img, lat = g_ours([paddle.randn([max(1, b // 2), s])], return_latents=True)
            path_length_penalty(img, lat, 0.0)[0].backward()

    return {"g_fwd": g_fwd, "g_fwd_bwd": lambda g: lambda: g(z)[0].mean().backward(),
            "d_fwd_bwd": lambda d: lambda: d(real).mean().backward(), "r1": r1, "pl": (pl_theirs, pl_ours)}


def modconv_variants(c, g_ours):
    """Our generator with the fused and with the non-fused modulated conv, holding ``g_ours``' weights."""
    variants = []
    for fused in (True, False):
        g = StyleGAN2Generator(c["size"], c["style_dim"], c["n_mlp"], channel_multiplier=c["cm"], fused_modconv=fused)
        g.set_state_dict(g_ours.state_dict())
        variants.append(g)
    return variants


def conv_flop_counts(g_convs, d_convs):
    """GFLOP counts of the rows whose convolutions are known (forward: 1x, forward+backward: 3x)."""
    flops = {"G forward (no grad)": conv_flops(g_convs), "G forward+backward": 3 * conv_flops(g_convs),
             "D forward+backward": 3 * conv_flops(d_convs)}
    flops.update({floor: flops[op] for op, floor in FLOORS})
    return flops


def timed_pairs(c, nets, real):
    """{row: (ppgan fn or None, ours fn[, floor fn])}: the floors run interleaved with the rows they are the floor
    of."""
    g_theirs, d_theirs, g_ours, d_ours = nets
    f = step_fns(c, g_theirs, d_theirs, g_ours, real)
    ppgan_iter, ours_iter = model_pair(c, *nets, real)
    g_convs, d_convs = generator_convs(g_ours, c["batch"]), discriminator_convs(d_ours, real)
    g_fused, g_nonfused = modconv_variants(c, g_ours)
    pairs = {
        "G forward (no grad)": (f["g_fwd"](g_theirs), f["g_fwd"](g_ours), conv_floor(g_convs)),
        "G forward, fused modconv": (None, f["g_fwd"](g_fused)),
        "G forward, non-fused modconv": (None, f["g_fwd"](g_nonfused)),
        "G forward+backward": (f["g_fwd_bwd"](g_theirs), f["g_fwd_bwd"](g_ours), conv_floor(g_convs, backward=True)),
        "D forward+backward": (f["d_fwd_bwd"](d_theirs), f["d_fwd_bwd"](d_ours), conv_floor(d_convs, backward=True)),
        "R1 step": (f["r1"](d_theirs, ppgan_r1), f["r1"](d_ours, r1_penalty)),
        "path-length step": f["pl"],
        "train iter (no reg)": (lambda: ppgan_iter(False), lambda: ours_iter("pl_off", False)),
        "train iter (with R1)": (lambda: ppgan_iter(True), lambda: ours_iter("pl_off", True)),
        "train iter (R1+PL, ours)": (None, lambda: ours_iter("pl_on", True)),
    }
    return pairs, conv_flop_counts(g_convs, d_convs)


def derived_rows(rows, pairs):
    """Rows computed from the timed ones: the floors, operator counts (after the timed runs: warm) and the
    training iteration with R1 amortised over its interval (16; path length off in both)."""
    for op, floor in FLOORS:
        rows[floor] = {"ppgan_s": "n/a", "ours_s": rows[op].get("floor_s", "n/a")}
    for op in OP_COUNTS:
        for impl, fn in zip(("ppgan", "ours"), pairs[op]):
            if fn is not None and isinstance(rows[op].get(f"{impl}_s"), float):
                rows[op][f"{impl}_ops"] = count_ops(fn)
    amort = {}
    for impl in ("ppgan", "ours"):
        plain, with_r1 = rows["train iter (no reg)"][f"{impl}_s"], rows["train iter (with R1)"][f"{impl}_s"]
        if isinstance(plain, float) and isinstance(with_r1, float):
            amort[f"{impl}_s"] = plain + (with_r1 - plain) / 16
    rows["train iter (R1 amortised)"] = amort
    return rows


def run_case(name, c, warmup, repeat):
    """The JSON rows of one case (an empty list for a GPU case without CUDA)."""
    if c.get("kind") == "loading":
        return loading_rows(name, c, max(repeat, 1))
    if c["device"] == "gpu" and not paddle.is_compiled_with_cuda():
        print(f"{name}: skipped (Paddle has no CUDA)")
        return []
    use_device(c["device"])
    print(f"\n== {name}: {c}", flush=True)
    nets = build_case(c)
    real = paddle.randn([c["batch"], 3, c["size"], c["size"]])
    pairs, flops = timed_pairs(c, nets, real)
    rows = derived_rows(measure(pairs, warmup, repeat, c["amp"], min_seconds=c.get("min_seconds", MIN_SECONDS)), pairs)
    out = []
    for op, row in rows.items():
        theirs, ours = row.get("ppgan_s"), row.get("ours_s")
        ratio = theirs / ours if isinstance(theirs, float) and isinstance(ours, float) else None
        out.append({"case": name, "op": op, "ppgan_s": theirs, "ours_s": ours, "ratio": ratio,
                    "gflop": flops[op] / 1e9 if op in flops else None,
                    "ppgan_ops": row.get("ppgan_ops"), "ours_ops": row.get("ours_ops"),
                    "ppgan_peak_mem_mb": row.get("ppgan_peak_mem_mb"), "ours_peak_mem_mb": row.get("ours_peak_mem_mb"),
                    "device": paddle.device.get_device(), "config": c})
    return out
