"""The exported generator in the runtime it is deployed with: Paddle Inference with its default CPU configuration
(oneDNN on), in a subprocess (a crash of the runtime must fail the test, not end the test run)."""
import subprocess
import sys

import numpy as np
import paddle
import pytest

from conftest import into, randomize, run_script
from ppgan_stylegan import StyleGAN2Generator

pytestmark = pytest.mark.slow  # subprocess runs

DEMO_G = dict(size=32, style_dim=128, n_mlp=2, channel_multiplier=1, channel_base=512, channel_max=32)  # the demo's

RUN = """
import json, sys
import numpy as np
import ppgan_stylegan
from ppgan_stylegan.networks.deploy import run_inference
z, psi = np.load(sys.argv[2]), np.load(sys.argv[3])
np.save(sys.argv[4], run_inference(sys.argv[1], z, psi))
"""


@pytest.fixture(scope="module")
def demo_weights(tmp_path_factory):
    paddle.seed(5)
    gen = randomize(StyleGAN2Generator(**DEMO_G), seed=5)
    gen.update_w_avg(paddle.randn([8, 128]) * 0.3, beta=0.0)
    path = str(tmp_path_factory.mktemp("export") / "demo_g.pdparams")
    paddle.save({"gen_ema": gen.state_dict()}, path)
    return path, gen


def test_exported_demo_generator_runs_in_paddle_inference_default_config(demo_weights, tmp_path):
    path, gen = demo_weights
    out = run_script("tools/export.py", "--weights", path, *into(tmp_path / "exp"))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert float(out.stdout.split("max |diff| ")[1].split()[0]) < 1e-4, out.stdout  # the command's own check
    prefix = str(tmp_path / "exp" / "generator")
    rng = np.random.RandomState(1)
    z, psi = rng.standard_normal([3, 128]).astype("float32"), np.array([[1.0], [0.7], [0.0]], "float32")
    files = [str(tmp_path / f) for f in ("z.npy", "psi.npy", "out.npy")]
    np.save(files[0], z)
    np.save(files[1], psi)
    run = subprocess.run([sys.executable, "-c", RUN, prefix, *files], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"Paddle Inference (default CPU config) failed: exit {run.returncode}\n" \
                                f"{run.stderr[-2000:]}"
    got = np.load(files[2])
    gen.eval()
    with paddle.no_grad():
        want = np.concatenate([gen([paddle.to_tensor(z[i:i + 1])], truncation=float(psi[i, 0]), noise="const")[0]
                               .numpy() for i in range(3)])
    assert got.shape == (3, 3, 32, 32) and np.abs(got - want).max() < 1e-4, np.abs(got - want).max()


ONNX_EXAMPLE = """
import sys
import numpy as np
import onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
z = np.random.RandomState(int(sys.argv[2])).standard_normal([1, 128]).astype("float32")
psi = np.full([1, 1], 0.7, dtype="float32")  # truncation: [N, 1]
image = session.run(None, {"z": z, "psi": psi})[0]  # [N, 3, H, W] in [-1, 1]
np.save(sys.argv[3], image)
"""


def test_export_onnx_runs_in_onnx_runtime_like_the_dynamic_graph(demo_weights, tmp_path):
    """``--onnx``: generator.onnx, checked by ONNX Runtime against the dynamic graph within 1e-4 (paddle2onnx 2.1.0
    wrote leaky_relu's slope as 4e-16: the exported graph computes it as a maximum); the README's example (ONNX
    Runtime and numpy only) reproduces the generator. Paddle 2.6: one line (paddle2onnx 2.x needs Paddle 3)."""
    path, gen = demo_weights
    out = run_script("tools/export.py", "--weights", path, "--onnx", "--check-seeds", "0-3", *into(tmp_path / "exp"))
    if int(paddle.__version__.split(".")[0]) < 3:
        assert out.returncode == 2 and out.stderr.strip().splitlines()[-1].startswith("error: export --onnx needs "
                                                                                      "Paddle 3"), out.stderr
        return
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert float(out.stdout.split("ONNX Runtime vs dynamic graph: max |diff| ")[1].split()[0]) < 1e-4, out.stdout
    image = str(tmp_path / "image.npy")
    run = subprocess.run([sys.executable, "-c", ONNX_EXAMPLE, str(tmp_path / "exp" / "generator.onnx"), "7", image],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    z = np.random.RandomState(7).standard_normal([1, 128]).astype("float32")
    gen.eval()
    with paddle.no_grad():
        want = gen([paddle.to_tensor(z)], truncation=0.7, noise="const")[0].numpy()
    assert np.abs(np.load(image) - want).max() < 1e-4


def test_export_onnx_without_the_extra_says_how_to_install(monkeypatch):
    from ppgan_stylegan.networks.deploy import export_onnx
    from ppgan_stylegan.core.errors import UserError
    monkeypatch.setitem(sys.modules, "paddle2onnx", None)
    monkeypatch.setattr(paddle, "__version__", "3.3.1")
    with pytest.raises(UserError, match=r"export --onnx needs paddle2onnx.*pip install -e \.\[onnx\]"):
        export_onnx("/nonexistent/generator")


class _RecordingConfig:
    """Stands in for ``paddle.inference.Config``: records what is asked of it (the GPU branch, proven on a CPU)."""

    def __init__(self, *files):
        self.files, self.calls = files, []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))


@pytest.mark.parametrize("device, expected", [("gpu:1", ("enable_use_gpu", (256, 1))),
                                              ("gpu", ("enable_use_gpu", (256, 0))), ("cpu", ("disable_gpu", ()))])
def test_inference_config_follows_the_device(monkeypatch, tmp_path, device, expected):
    """Paddle Inference's Config runs on the CPU unless told otherwise: on a GPU device the export check and the
    benchmark use its default GPU configuration. (On this CPU machine the GPU branch is forced; not measured.)"""
    from ppgan_stylegan.networks import deploy
    monkeypatch.setattr(deploy.paddle_infer, "Config", _RecordingConfig)
    monkeypatch.setattr(deploy.paddle, "get_device", lambda: device)
    (tmp_path / "generator.json").write_text("{}")
    config = deploy.inference_config(str(tmp_path / "generator"))
    gpu_calls = [c for c in config.calls if c[0] in ("enable_use_gpu", "disable_gpu")]
    assert gpu_calls == [expected]
