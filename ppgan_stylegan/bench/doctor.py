"""``ppgan-stylegan doctor``: what a training machine can do, in one table and one JSON file to share.

Run it where you train (an AI Studio GPU, a laptop). Each check reports ok / warn / failed / skipped with a
one-line detail: the platform (Paddle, CUDA / cuDNN, driver, device and memory), ``/dev/shm`` against the data
loader's need, whether float16 autocast really engages, every op training differentiates twice (R1, path length)
on this device, the path-length gradient of the device's ``conv2d_transpose`` path against the polyphase path,
host reads per training iteration, a timed config-f run (synthetic data, after warm-up) in s/kimg and images/s
beside the published anchors, with and without mixed precision, and the largest activation per layer type.
On a CPU the GPU-only checks say that they were skipped and why.
"""
import os
import platform
import shutil
import subprocess
import time

import numpy as np
import paddle
import paddle.nn.functional as F

from ..core import runtime
from ..core.errors import last_line
from ..core.versions import __version__
from ..losses import path_length_penalty
from ..networks import StyleGAN2Discriminator, StyleGAN2Generator
from ..networks.blocks import ModulatedConv2D, StyledConv
from ..networks.discriminators.stylegan2 import ConvLayer
from ..ops import conv_transpose2x, double_backward, float16_scope, mixed_precision, polyphase_everywhere
from .cases import adam_optimizers, our_model
from .syncs import count_host_reads

# stylegan2-ada-pytorch / stylegan3 docs/configs.md, config-f-like StyleGAN2 at 256 px, one GPU
ANCHORS_256 = {"V100": "21.6-24.2 s/kimg", "A100": "12.5 s/kimg"}
FLOAT16_MAX = 65504.0


def on_gpu():
    return paddle.is_compiled_with_cuda() and "gpu" in paddle.get_device()


def check(name, status, detail, **data):
    return dict(check=name, status=status, detail=detail, **data)


def skipped(name, why):
    return check(name, "skipped", why)


def _nvidia_smi():
    if not shutil.which("nvidia-smi"):
        return None
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or None


def platform_check():
    """Versions, the device and its memory."""
    data = {"ppgan_stylegan": __version__, "paddle": paddle.__version__, "python": platform.python_version(),
            "device": paddle.get_device(), "cuda_build": paddle.is_compiled_with_cuda(),
            "cpu_cores": runtime.usable_cores(), "runtime": runtime.describe()}
    if paddle.is_compiled_with_cuda() or on_gpu():
        data.update(cuda=paddle.version.cuda(), cudnn=paddle.version.cudnn(), nvidia_smi=_nvidia_smi())
    if on_gpu():
        props = paddle.device.cuda.get_device_properties()
        data.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2 ** 30, 1))
        detail = f"Paddle {data['paddle']}, {props.name} ({data['gpu_memory_gib']} GiB), CUDA {data['cuda']}, " \
                 f"cuDNN {data['cudnn']}"
    else:
        detail = f"Paddle {data['paddle']} on {data['device']}, {data['cpu_cores']} usable core(s)"
    return check("platform", "ok", detail, **data)


def shared_memory_check(size=256, batch=4, workers=4, prefetch=2, path="/dev/shm"):
    """Loader workers pass uint8 images through shared memory: ``workers x prefetch`` batches in flight."""
    need = workers * prefetch * batch * 3 * size * size
    if not os.path.isdir(path):
        return skipped("shared memory", f"{path} does not exist on this system")
    stat = os.statvfs(path)
    have = stat.f_bavail * stat.f_frsize
    status = "ok" if have >= 2 * need else "warn"
    detail = (f"{path}: {have / 2 ** 20:.0f} MiB free, the loader needs about {need / 2 ** 20:.1f} MiB "
              f"({workers} workers x {prefetch} batches of {batch} uint8 {size} px images)")
    if status == "warn":
        detail += "; lower dataset.train.num_workers or give the container more /dev/shm (docker --shm-size)"
    return check("shared memory", status, detail, free_mib=have / 2 ** 20, need_mib=need / 2 ** 20)


def autocast_check():
    """A conv inside a float16 block really computes in float16 (autocast engaged)."""
    if not on_gpu():
        return skipped("float16 autocast", "no GPU: Paddle runs no float16 kernel on a CPU (training uses float32)")
    x, w = paddle.randn([2, 8, 16, 16]), paddle.randn([8, 8, 3, 3])
    with mixed_precision(True), float16_scope(True):
        y = F.conv2d(x, w, padding=1)
    ok = y.dtype == paddle.float16
    return check("float16 autocast", "ok" if ok else "failed",
                 f"a float16 block's conv ran in {str(y.dtype).rsplit('.', 1)[-1]}")


def _conv_up(x):
    return conv_transpose2x(x, paddle.full([4, 4, 3, 3], 0.1))


DOUBLE_GRAD_OPS = {  # what R1 (through D) and path length (through G) differentiate twice
    "conv2d": lambda x: F.conv2d(x, paddle.full([4, 4, 3, 3], 0.1), padding=1),
    "conv2d stride 2": lambda x: F.conv2d(x, paddle.full([4, 4, 3, 3], 0.1), stride=2),
    "conv2d_transpose stride 2 (G up-sampling)": _conv_up,
    "matmul (batched)": lambda x: paddle.matmul(x.reshape([2, 4, 64]), x.reshape([2, 4, 64]), transpose_y=True),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "rsqrt / square / sum (demodulation)": lambda x: paddle.rsqrt(paddle.square(x).sum(axis=[2, 3]) + 1e-8),
    "pad": lambda x: F.pad(x, [1, 1, 1, 1]),
    "mean / sqrt (minibatch stddev)": lambda x: paddle.sqrt(x.var(axis=0) + 1e-8).mean(),
    "clip (conv_clamp)": lambda x: paddle.clip(x, -0.5, 0.5),
}


def double_gradient_check():
    """Every op above twice differentiated on this device (inside ``double_backward``, as training runs them)."""
    failed = []
    for name, fn in DOUBLE_GRAD_OPS.items():
        x = paddle.randn([2, 4, 8, 8])
        x.stop_gradient = False
        try:
            with double_backward():
                (grad,) = paddle.grad(fn(x).square().sum(), [x], create_graph=True)
                (second,) = paddle.grad(grad.square().sum(), [x])
            if not np.isfinite(second.numpy()).all():
                failed.append(f"{name}: non-finite")
        except Exception as e:  # a kernel this device lacks
            failed.append(f"{name}: {last_line(e, 120)}")
    detail = f"{len(DOUBLE_GRAD_OPS) - len(failed)} of {len(DOUBLE_GRAD_OPS)} ops" + \
        (f"; failed: {'; '.join(failed)}" if failed else "")
    return check("double gradients", "failed" if failed else "ok", detail, failed=failed)


def _path_length_grads(generator, z, pl_noise):
    generator.clear_gradients()
    with double_backward():
        image, latents = generator([z], return_latents=True, noise="const")
        penalty = path_length_penalty(image, latents, paddle.zeros([]), pl_noise=pl_noise)[0]
        penalty.backward()
    return {n: p.grad.numpy().copy() for n, p in generator.named_parameters() if p.grad is not None}


def path_length_paths_check(size=16):
    """The path-length gradient through the device's ``conv2d_transpose`` (cuDNN's double gradient) equals the
    polyphase path's."""
    if not on_gpu():
        return skipped("path-length gradient", "no GPU: on a CPU the polyphase path is the only one")
    paddle.seed(0)
    generator = StyleGAN2Generator(size, style_dim=32, n_mlp=2, channel_base=256, channel_max=32)
    z, pl_noise = paddle.randn([2, 32]), paddle.randn([2, 3, size, size]) / size
    device_path = _path_length_grads(generator, z, pl_noise)
    with polyphase_everywhere():
        polyphase = _path_length_grads(generator, z, pl_noise)
    worst = max(float(np.abs(device_path[k] - v).max() / (np.abs(v).max() + 1e-12)) for k, v in polyphase.items())
    return check("path-length gradient", "ok" if worst < 1e-3 else "failed",
                 f"device path vs polyphase: max relative difference {worst:.2e} over {len(polyphase)} parameters",
                 max_relative_difference=worst)


def config_f(size, amp=False, r1_interval=16, pl_interval=4):
    """A config-f training model (channel multiplier 2, style 512, 8 mapping layers) at ``size`` and its Adams."""
    model = our_model(dict(size=size, style_dim=512, n_mlp=8, cm=2), 2.0, amp=amp, r1_interval=r1_interval,
                      pl_interval=pl_interval)
    return model, adam_optimizers(model)


def _iterate(model, optimizers, batch, size, iterations):
    """Seconds per training iteration (synthetic reals), timed after the device finished."""
    model.setup_input({"A": paddle.uniform([batch, 3, size, size], min=-1.0, max=1.0)})
    start = time.perf_counter()
    for _ in range(iterations):
        model.train_iter(optimizers)
    float(model.nets["gen"].parameters()[0].sum())  # wait for the device
    return (time.perf_counter() - start) / iterations


def host_reads_check(size=16, iterations=8):
    """Reads of device values per training iteration (every phase due at some iteration), tiny network."""
    model, optimizers = config_f(size, r1_interval=2, pl_interval=2)
    model.setup_input({"A": paddle.uniform([2, 3, size, size], min=-1.0, max=1.0)})
    per_iteration = []
    for _ in range(iterations):
        with count_host_reads() as counts:
            model.train_iter(optimizers)
        per_iteration.append(sum(counts.values()))
    worst = max(per_iteration)
    return check("host reads", "ok" if worst <= 1 else "warn",
                 f"at most {worst} per training iteration over {iterations} iterations (the design: 1)",
                 per_iteration=per_iteration)


def timing_check(size, batch, iterations, warmup=2):
    """s/kimg and images/s of config-f at ``size`` (lazy R1 / path length at their intervals), with and without AMP
    on a GPU; the published anchors beside (256 px)."""
    rows = {}
    for amp in ([False, True] if on_gpu() else [False]):
        model, optimizers = config_f(size, amp=amp)
        _iterate(model, optimizers, batch, size, warmup)
        seconds = _iterate(model, optimizers, batch, size, iterations)
        rows["amp" if amp else "float32"] = {"s_per_kimg": seconds / batch * 1000, "images_per_s": batch / seconds}
    text = ", ".join(f"{k}: {v['s_per_kimg']:.1f} s/kimg ({v['images_per_s']:.1f} images/s)" for k, v in rows.items())
    anchors = "; anchors at 256 px: " + ", ".join(f"{k} {v}" for k, v in ANCHORS_256.items()) if size == 256 else ""
    where = "" if on_gpu() else " on the CPU (no mixed precision there)"
    return check("speed", "ok", f"config-f {size} px, batch {batch}{where}: {text}{anchors}", size=size,
                 batch=batch, iterations=iterations, **rows)


def activations_check(size, batch=2):
    """The largest |activation| of each layer type (G's styled convs and their / the RGB layers' modulated convs
    before bias, D's convs) in one forward, under
    mixed precision on a GPU: float16 overflows above 65504 (conv_clamp bounds it at 256)."""
    paddle.seed(0)
    G, D = StyleGAN2Generator(size, 512, 8), StyleGAN2Discriminator(size)
    if on_gpu():
        for net in (G, D):
            net.configure_precision(4, 256)
    largest, hooks = {}, []
    for prefix, net in (("G", G), ("D", D)):
        for layer in net.sublayers():
            if isinstance(layer, (StyledConv, ModulatedConv2D, ConvLayer)):
                kind = f"{prefix} {type(layer).__name__}"

                def hook(layer, inputs, out, kind=kind):
                    largest[kind] = max(largest.get(kind, 0.0), float(out.abs().max()))
                hooks.append(layer.register_forward_post_hook(hook))
    with paddle.no_grad(), mixed_precision(on_gpu()):
        D(G([paddle.randn([batch, 512])])[0])
    for h in hooks:
        h.remove()
    worst = max(largest.values())
    precision = "mixed precision" if on_gpu() else "float32 (no GPU)"
    return check("largest activations", "ok" if worst < FLOAT16_MAX / 4 else "warn",
                 f"{precision}, {size} px: largest |activation| {worst:.3g} ({worst / FLOAT16_MAX:.2%} of float16's "
                 f"range)", per_layer_type=largest)


def run_checks(size=None, batch=4, iterations=None, timing=True, loader_workers=4):
    """Every check in turn (a check that raises is reported as failed, the others still run)."""
    size = size or (256 if on_gpu() else 32)
    iterations = iterations or (10 if on_gpu() else 2)
    steps = [platform_check, lambda: shared_memory_check(size, batch, loader_workers), autocast_check,
             double_gradient_check, path_length_paths_check, host_reads_check,
             (lambda: timing_check(size, batch, iterations)) if timing else
             (lambda: skipped("speed", "--skip-timing")), lambda: activations_check(size)]
    results = []
    for step in steps:
        try:
            results.append(step())
        except Exception as e:  # report, go on: a doctor that crashes tells nothing
            name = getattr(step, "__name__", "check").replace("_check", "").replace("_", " ")
            results.append(check(name, "failed", f"{type(e).__name__}: {last_line(e)}" if str(e).strip()
                                 else type(e).__name__))
    return results


def table(results):
    """The checks as aligned text lines."""
    width = max(len(r["check"]) for r in results)
    return "\n".join(f"{r['check']:<{width}}  {r['status']:<7}  {r['detail']}" for r in results)
