"""Images per second of an exported generator: eager Paddle vs Paddle Inference vs ONNX Runtime.

    python -m ppgan_stylegan.bench.deployment --out deployment.json

For each network (``demo``: the demo config's generator; ``cpu32``: 32 px, channel multiplier 1, style 512, 2
mapping layers) random weights are exported as ``export`` does (z, psi -> image, constant noise), then the same
batch of 8 latents is run, interleaved, by the eager dynamic graph (no grad), Paddle Inference (its default CPU
configuration, oneDNN on; Paddle's log level as our command lines set it) and ONNX Runtime (CPU, Paddle 3 only); median of the timed runs after a warm-up. All
three compute the same images (max |difference| reported).
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import paddle

from ..networks.deploy import export_onnx, inference_runner, onnx_runner, save_static
from ..core.files import write_json
from ..networks import StyleGAN2Generator

NETWORKS = {"demo": dict(size=32, style_dim=128, n_mlp=2, channel_multiplier=1, channel_base=512, channel_max=32),
            "cpu32": dict(size=32, style_dim=512, n_mlp=2, channel_multiplier=1)}


def _runners(net, prefix, onnx):
    """{runtime: fn(z, psi) -> images} for the exported ``net`` at ``prefix``."""
    model = save_static(StyleGAN2Generator(**NETWORKS[net]), prefix)

    def eager(z, psi):
        with paddle.no_grad():
            return model(paddle.to_tensor(z), paddle.to_tensor(psi)).numpy()
    runners = {"eager Paddle": eager, "Paddle Inference": inference_runner(prefix)}
    if onnx:
        runners["ONNX Runtime"] = onnx_runner(export_onnx(prefix))
    return runners


def measure(net, batch=8, repeat=15, onnx=True):
    with tempfile.TemporaryDirectory() as root:
        runners = _runners(net, os.path.join(root, "generator"), onnx)
        z = np.random.RandomState(0).standard_normal([batch, NETWORKS[net]["style_dim"]]).astype("float32")
        psi = np.full([batch, 1], 0.7, "float32")
        images = {name: run(z, psi) for name, run in runners.items()}  # (warm-up)
        times = {name: [] for name in runners}
        for _ in range(repeat):  # interleaved
            for name, run in runners.items():
                start = time.perf_counter()
                run(z, psi)
                times[name].append(time.perf_counter() - start)
    eager = float(np.median(times["eager Paddle"]))
    return [{"network": net, "runtime": name, "batch": batch, "images_per_s": round(batch / float(np.median(t)), 1),
             "speed_vs_eager": round(eager / float(np.median(t)), 2),
             "max_abs_diff_vs_eager": float(np.abs(images[name] - images["eager Paddle"]).max())}
            for name, t in times.items()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", default="demo,cpu32")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    onnx = int(paddle.__version__.split(".")[0]) >= 3
    rows = []
    for net in args.networks.split(","):
        for row in measure(net, repeat=args.repeat, onnx=onnx):
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        write_json({"rows": rows, "paddle": paddle.__version__}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
