"""tools/convert_weights.py: PaddleGAN files, rosinality layouts (round trip), NVIDIA .pkl refusal."""
import importlib.util

import numpy as np
import paddle
import pytest
from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

from conftest import max_diff, randomize, run_script
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator
from ppgan_stylegan.networks.loading import build_generator
from ppgan_stylegan.apps.convert import paddle_to_rosinality, rosinality_to_paddle


def run(*args):
    return run_script("tools/convert_weights.py", *args)


def test_rosinality_layout_round_trip_reproduces_outputs():
    paddle.seed(4)
    g = randomize(StyleGAN2Generator(16, style_dim=24, n_mlp=2, channel_base=256, channel_max=32), 1)
    d = randomize(StyleGAN2Discriminator(16, channel_base=256, channel_max=32), 2)
    blur = {"convs.0.conv.blur.kernel": np.ones([4, 4], "float32") / 16}
    ros_g = paddle_to_rosinality({k: v.numpy() for k, v in g.state_dict().items()}, blur)
    ros_d = paddle_to_rosinality({k: v.numpy() for k, v in d.state_dict().items()},
                                 {"convs.1.conv2.0.kernel": np.ones([4, 4], "float32") / 16})
    # rosinality's (PyTorch) layouts: dense weights are [out, in]
    assert ros_g["conv1.conv.modulation.weight"].shape == (32, 24)
    assert ros_g["style.1.weight"].shape == (24, 24)
    assert ros_d["final_linear.0.weight"].shape == (32, 32 * 16)
    assert ros_g["conv1.conv.weight"].shape == (1, 32, 32, 3, 3)
    back_g, back_d = rosinality_to_paddle(ros_g), rosinality_to_paddle(ros_d)
    assert "convs.0.conv.blur.kernel" not in back_g and "convs.1.conv2.0.kernel" not in back_d
    g2 = StyleGAN2Generator(16, style_dim=24, n_mlp=2, channel_base=256, channel_max=32)
    g2.set_state_dict({k: paddle.to_tensor(v) for k, v in back_g.items()})
    d2 = StyleGAN2Discriminator(16, channel_base=256, channel_max=32)
    d2.set_state_dict({k: paddle.to_tensor(v) for k, v in back_d.items()})
    z = paddle.randn([2, 24])
    with paddle.no_grad():
        a, b = g([z], noise="const")[0], g2([z], noise="const")[0]
        assert max_diff(a.numpy(), b.numpy()) == 0.0
        assert max_diff(d(a).numpy(), d2(a).numpy()) == 0.0


@pytest.mark.slow
def test_paddlegan_files_convert_and_load(tmp_path):
    paddle.seed(5)
    theirs = randomize(StyleGANv2Generator(16, 16, 1, channel_multiplier=1), 3)
    src = str(tmp_path / "paddlegan_g.pdparams")
    paddle.save(theirs.state_dict(), src)
    dst = str(tmp_path / "converted.pdparams")
    out = run("--src", src, "--dst", dst)
    assert out.returncode == 0, out.stderr
    assert "gen_ema: 16px, style_dim 16, n_mlp 1" in out.stdout
    gen, used = build_generator(dst)
    z = paddle.randn([2, 16])
    with paddle.no_grad():
        assert max_diff(theirs([z], randomize_noise=False)[0].numpy(), gen([z], noise="const")[0].numpy()) < 1e-4
    dsrc = str(tmp_path / "paddlegan_d.pdparams")
    paddle.save(StyleGANv2Discriminator(16, 1).state_dict(), dsrc)
    out = run("--src", dsrc, "--dst", str(tmp_path / "d.pdparams"))
    assert out.returncode == 0 and "wrote disc" in out.stdout


@pytest.mark.slow
def test_bad_sources_are_refused_with_one_line(tmp_path):
    pkl = tmp_path / "network-snapshot.pkl"
    pkl.write_bytes(b"\x80\x04dnnlib")
    out = run("--src", str(pkl), "--dst", str(tmp_path / "x.pdparams"))
    assert out.returncode == 2 and "NVIDIA StyleGAN2 .pkl" in out.stderr and "Traceback" not in out.stderr
    same = tmp_path / "same.pdparams"
    paddle.save({"a": paddle.ones([1])}, str(same))
    before = same.read_bytes()
    out = run("--src", str(same), "--dst", str(same))
    assert out.returncode == 2 and "must differ" in out.stderr and same.read_bytes() == before
    out = run("--src", str(same), "--dst", str(tmp_path / "y.pdparams"))
    assert out.returncode == 2 and "not a StyleGAN2 generator" in out.stderr


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
@pytest.mark.slow
def test_rosinality_pt_without_torch_says_what_to_do(tmp_path):
    pt = tmp_path / "550000.pt"
    pt.write_bytes(b"PK\x03\x04")
    out = run("--src", str(pt), "--dst", str(tmp_path / "x.pdparams"))
    assert out.returncode == 2 and "needs torch, which is not installed" in out.stderr
