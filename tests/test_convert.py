"""Weight import (tools/convert_weights.py): every release's format written by tests/weight_writers.py from our
networks, converted back with torch and tensorflow hidden; the restricted unpickler; unsupported kinds."""
import os
import pickle
import re
import subprocess
import sys
import zipfile

import numpy as np
import paddle
import pytest
from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

import weight_writers as ww
from conftest import max_diff, randomize, run_script
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator, StyleGANDiscriminator, StyleGANGenerator
from ppgan_stylegan.networks.loading import load_generator
from ppgan_stylegan.apps import convert
from ppgan_stylegan.apps.convert import convert_checkpoint
from ppgan_stylegan.networks.families.weight_maps import paddle_to_rosinality, rosinality_to_paddle
from ppgan_stylegan.core.errors import UserError
from ppgan_stylegan.core.pickles import read_pickle


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
    assert "generator (StyleGAN2Generator): 16px, style_dim 16, mapping depth 1" in out.stdout and "numpy seed 0" in out.stdout
    gen, used = load_generator(dst)
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
    assert out.returncode == 2 and "not a readable pickle" in out.stderr and "Traceback" not in out.stderr
    same = tmp_path / "same.pdparams"
    paddle.save({"a": paddle.ones([1])}, str(same))
    before = same.read_bytes()
    out = run("--src", str(same), "--dst", str(same))
    assert out.returncode == 2 and "must differ" in out.stderr and same.read_bytes() == before
    out = run("--src", str(same), "--dst", str(tmp_path / "y.pdparams"))
    assert out.returncode == 2 and "not a StyleGAN / StyleGAN2 generator" in out.stderr
    pt = tmp_path / "550000.pt"
    pt.write_bytes(b"PK\x03\x04")
    out = run("--src", str(pt), "--dst", str(tmp_path / "z.pdparams"))
    assert out.returncode == 2 and "not a PyTorch checkpoint" in out.stderr and "Traceback" not in out.stderr
    taken = tmp_path / "taken.pdparams"  # an existing output is only replaced with --overwrite
    taken.write_bytes(b"mine")
    out = run("--src", str(pt), "--dst", str(taken))
    assert out.returncode == 2 and f"--dst {taken}: exists (choose another path, or --overwrite)" in out.stderr
    assert taken.read_bytes() == b"mine"


# ----------------------------------------------------------------------------- every release's format

SIZE = 16


def _nets(seed):
    paddle.seed(seed)
    kw = dict(style_dim=24, n_mlp=2, channel_base=256, channel_max=32)
    g = randomize(StyleGAN2Generator(SIZE, **kw), seed)
    g_ema = randomize(StyleGAN2Generator(SIZE, **kw), seed + 1)
    for gen, k in ((g, 0.3), (g_ema, -0.2)):
        gen.w_avg.set_value(paddle.full([24], k))
        gen.w_avg_updates.set_value(paddle.ones([1]))
    d = randomize(StyleGAN2Discriminator(SIZE, channel_base=256, channel_max=32), seed + 2)
    return g, g_ema, d


def _state(net):
    return {k: v.numpy() for k, v in net.state_dict().items()}


def _hidden_frameworks(tmp_path):
    """An environment where ``import torch`` / ``import tensorflow`` fail, whatever is installed."""
    hide = tmp_path / "hide"
    hide.mkdir(exist_ok=True)
    for name in ("torch", "tensorflow"):
        (hide / f"{name}.py").write_text("raise ImportError('hidden by the weight-import test')\n")
    return dict(os.environ, PYTHONPATH=str(hide) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _write_sources(tmp_path, g, g_ema, d):
    src = "open(%r, 'w').write('ran')\n" % str(tmp_path / "executed")  # would run if the source were executed
    files = {}
    ros = {"g": ww.rosinality_state(_state(g)), "d": ww.rosinality_state(_state(d)),
           "g_ema": ww.rosinality_state(_state(g_ema)), "latent_avg": ww.Tensor(g_ema.w_avg.numpy())}
    files["rosinality-zip"] = tmp_path / "rosinality.pt"
    ww.write_torch_zip(files["rosinality-zip"], ros)
    files["rosinality-legacy"] = tmp_path / "rosinality_legacy.pth"
    ww.write_torch_legacy(files["rosinality-legacy"], ros)
    files["tf"] = tmp_path / "stylegan2-config-f.pkl"
    ww.write_pickle(files["tf"], ww.tf_networks(_state(g), _state(d), SIZE, gs_state=_state(g_ema), src=src))
    files["ada"] = tmp_path / "network-snapshot-000100.pkl"
    ww.write_pickle(files["ada"], {"G": ww.ada_generator_module(_state(g), SIZE, src),
                                   "D": ww.ada_discriminator_module(_state(d), SIZE, src=src),
                                   "G_ema": ww.ada_generator_module(_state(g_ema), SIZE, src),
                                   "augment_pipe": None, "training_set_kwargs": {"resolution": SIZE}})
    return files


@pytest.mark.slow
def test_every_release_converts_back_without_torch_or_tensorflow(tmp_path):
    g, g_ema, d = _nets(7)
    files = _write_sources(tmp_path, g, g_ema, d)
    env = _hidden_frameworks(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "hidden by the weight-import test" in probe.stderr
    z = paddle.randn([3, 24])
    for kind, path in files.items():
        dst = tmp_path / f"{kind}.pdparams"
        out = run_script("tools/convert_weights.py", "--src", path, "--dst", dst, env=env)
        assert out.returncode == 0, (kind, out.stderr[-2000:])
        assert "generator (StyleGAN2Generator): 16px, style_dim 24, mapping depth 2, channel_base 512, channel_max 32" in out.stdout
        assert "wrote disc, gen, gen_ema" in out.stdout, (kind, out.stdout)
        state = paddle.load(str(dst))
        gen, used = load_generator(str(dst))
        assert used == "gen_ema" and gen.w_avg_tracked  # the release's average became our w_avg
        with paddle.no_grad():
            for ours, theirs in ((gen, g_ema),):
                for psi in (1.0, 0.5):
                    a = theirs([z], noise="const", truncation=psi)[0].numpy()
                    b = ours([z], noise="const", truncation=psi)[0].numpy()
                    assert max_diff(a, b) < 1e-4, (kind, psi)
            d2 = StyleGAN2Discriminator(SIZE, channel_base=256, channel_max=32)
            d2.set_state_dict(state["disc"])
            img = g_ema([z], noise="const")[0]
            assert max_diff(d(img).numpy(), d2(img).numpy()) < 1e-4, kind
            g2 = StyleGAN2Generator(SIZE, 24, 2, channel_base=256, channel_max=32)
            g2.set_state_dict(state["gen"])
            psi = 1.0 if kind.startswith("rosinality") else 0.5  # rosinality keeps no average for g
            assert max_diff(g([z], noise="const", truncation=psi)[0].numpy(),
                            g2([z], noise="const", truncation=psi)[0].numpy()) < 1e-4, kind
        assert state["meta"]["config"]["model"]["generator"]["name"] == "StyleGAN2Generator"
    assert not (tmp_path / "executed").exists()  # the source code inside NVIDIA's pickles never ran


@pytest.mark.parametrize("channels", [1, 4])
def test_grayscale_and_rgba_ada_pickles_convert_with_their_channels(tmp_path, channels):
    kw = dict(style_dim=24, n_mlp=2, channel_base=256, channel_max=32)
    g = randomize(StyleGAN2Generator(SIZE, img_channels=channels, **kw), 3)
    d = randomize(StyleGAN2Discriminator(SIZE, channel_base=256, channel_max=32, img_channels=channels), 4)
    path = tmp_path / "grey.pkl"
    ww.write_pickle(path, {"G_ema": ww.ada_generator_module(_state(g), SIZE), "D": ww.ada_discriminator_module(
        _state(d), SIZE), "training_set_kwargs": {"resolution": SIZE}})
    result = convert_checkpoint(str(path))
    assert result.kwargs["generator"]["img_channels"] == result.kwargs["discriminator"]["img_channels"] == channels
    g2 = StyleGAN2Generator(**result.kwargs["generator"])
    g2.set_state_dict(result.nets["gen_ema"])
    d2 = StyleGAN2Discriminator(**result.kwargs["discriminator"])
    d2.set_state_dict(result.nets["disc"])
    z = paddle.randn([2, 24])
    with paddle.no_grad():
        image = g([z], noise="const")[0]
        assert image.shape[1] == channels and max_diff(image.numpy(), g2([z], noise="const")[0].numpy()) < 1e-4
        assert max_diff(d(image).numpy(), d2(image).numpy()) < 1e-4


def _nv_dense(x, t, name, lr=1.0, act=False):
    """stylegan2-ada-pytorch's FullyConnectedLayer from its tensors (weight [out, in]), in NumPy."""
    w, b = np.asarray(t[f"{name}.weight"], np.float64), np.asarray(t[f"{name}.bias"], np.float64)
    y = x @ (w * (lr / np.sqrt(w.shape[1]))).T + b * lr
    return np.where(y >= 0, y, 0.2 * y) * np.sqrt(2) if act else y


def _nv_normalize(x):
    return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8)


def test_conditional_ada_pickles_convert_and_match_the_reference_for_every_class(tmp_path):
    """A conditional stylegan2-ada-pytorch G / G_ema / D (label embedding; D's label mapping and projection head)
    written by the test writer: the mapping and the projection equal NVlabs' formulas (NumPy) for every class."""
    c_dim, kw = 3, dict(style_dim=24, n_mlp=2, channel_base=256, channel_max=32)
    g = randomize(StyleGAN2Generator(SIZE, c_dim=c_dim, **kw), 5)
    g.update_w_avg(paddle.full([1, 24], 0.2), beta=0.0)  # a tracked average (the file's mapping.w_avg)
    d = randomize(StyleGAN2Discriminator(SIZE, channel_base=256, channel_max=32, c_dim=c_dim, mapping_layers=3), 6)
    gm, dm = ww.ada_generator_module(_state(g), SIZE), ww.ada_discriminator_module(_state(d), SIZE)
    ww.write_pickle(tmp_path / "cond.pkl", {"G": gm, "G_ema": gm, "D": dm})
    result = convert_checkpoint(str(tmp_path / "cond.pkl"))
    assert result.kwargs["generator"]["c_dim"] == result.kwargs["discriminator"]["c_dim"] == c_dim
    assert "c_dim 3" in "\n".join(convert.describe(result))
    g2, d2 = StyleGAN2Generator(**result.kwargs["generator"]), StyleGAN2Discriminator(**result.kwargs["discriminator"])
    g2.set_state_dict(result.nets["gen_ema"])
    d2.set_state_dict(result.nets["disc"])
    read = read_pickle(str(tmp_path / "cond.pkl"))  # the tensors as the file holds them (torch's layouts)
    gt, dt = read["G_ema"].named_tensors(), read["D"].named_tensors()
    z = np.random.RandomState(0).standard_normal([2, 24])
    images = []
    with paddle.no_grad():
        for k in range(c_dim):
            c = np.eye(c_dim)[[k, k]]
            x = np.concatenate([_nv_normalize(z), _nv_normalize(_nv_dense(c, gt, "mapping.embed"))], axis=1)
            for i in range(2):
                x = _nv_dense(x, gt, f"mapping.fc{i}", lr=0.01, act=True)
            ct = g2.one_hot([k, k])
            assert max_diff(g2.get_latent(paddle.to_tensor(z, "float32"), ct).numpy(), x) < 1e-4, k
            for psi in (1.0, 0.5):
                a = g([paddle.to_tensor(z, "float32")], noise="const", truncation=psi, c=ct)[0]
                assert max_diff(a.numpy(), g2([paddle.to_tensor(z, "float32")], noise="const", truncation=psi,
                                               c=ct)[0].numpy()) < 1e-4, (k, psi)
            images.append(a.numpy())
            cmap = _nv_normalize(_nv_dense(c, dt, "mapping.embed"))
            for i in range(3):
                cmap = _nv_dense(cmap, dt, f"mapping.fc{i}", lr=0.01, act=True)
            d2.c_dim = 0  # (the features before the projection)
            features = d2(a).numpy()
            d2.c_dim = c_dim
            expected = (features * cmap).sum(axis=1, keepdims=True) / np.sqrt(cmap.shape[1])
            assert max_diff(d2(a, ct).numpy(), expected) < 1e-4 and max_diff(d(a, ct).numpy(), expected) < 1e-4, k
    assert max_diff(images[0], images[1]) > 1e-2  # the class changes the image


def test_unconditional_state_dicts_are_unchanged_by_c_dim():
    gen = StyleGAN2Generator(SIZE, 24, 2, channel_base=256, channel_max=32)
    ppgan_gen = StyleGANv2Generator(SIZE, 24, 2, channel_multiplier=1)
    ours = {k: list(v.shape) for k, v in gen.state_dict().items() if not k.startswith("w_avg")}
    assert not any("embed" in k for k in ours) and ours["style.1.weight"] == [24, 24]
    assert set(ours) == set(ppgan_gen.state_dict())


def test_restricted_unpickler_refuses_code_and_unsupported_kinds(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"G": Evil()}))
    with pytest.raises(UserError, match=r"refusing to load: the pickle asks for (posix|nt)\.system"):
        convert_checkpoint(str(evil))
    assert not marker.exists()
    evil_pt = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil_pt, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(Evil(), protocol=2))
    with pytest.raises(UserError, match="refusing to load"):
        convert_checkpoint(str(evil_pt))
    assert not marker.exists()

    g, g_ema, d = _nets(3)
    cases = {}
    sg3 = ww.ada_generator_module(_state(g), SIZE)
    sg3.modules["synthesis"].modules["input"] = ww.Persistent("SynthesisInput")
    cases["stylegan3"] = ({"G_ema": sg3}, "a StyleGAN3 network")
    cond = ww.ada_generator_module(_state(g), SIZE)
    cond.attrs["_init_kwargs"]["c_dim"] = 10
    cases["conditional"] = ({"G_ema": cond}, "G_ema says c_dim 10 but its tensors have a label embedding of width 0")
    G, D, Gs = ww.tf_networks(_state(g), _state(d), SIZE)
    Gs.static_kwargs["architecture"] = "resnet"
    cases["resnet G"] = ((G, D, Gs), "architecture G 'resnet' / D 'resnet'; supported: G 'skip', D 'resnet'")
    D_orig = ww.ada_discriminator_module(_state(d), SIZE)
    D_orig.attrs["_init_kwargs"]["architecture"] = "orig"
    cases["orig D"] = ({"G_ema": ww.ada_generator_module(_state(g), SIZE), "D": D_orig},
                       "D architecture 'orig'; supported: 'resnet'")
    cases["other"] = ({"weights": ww.Tensor(np.zeros(3, "float32"))},
                      "not an NVIDIA StyleGAN / StyleGAN2 network pickle")
    for name, (obj, message) in cases.items():
        path = tmp_path / f"{name}.pkl"
        ww.write_pickle(path, obj)
        with pytest.raises(UserError, match=re.escape(message)):
            convert_checkpoint(str(path))


@pytest.mark.slow
def test_stylegan1_tensorflow_pickle_converts_back(tmp_path):
    """NVIDIA's StyleGAN (v1) layout (G_style / D_basic / Gs, fused up-sampling convs, dlatent_avg, lod) written
    from random networks, converted with torch and tensorflow hidden, equal outputs."""
    paddle.seed(11)
    kw = dict(style_dim=24, n_mlp=2, fmap_base=128, fmap_max=32, fused_scale=True)
    g, g_ema = (randomize(StyleGANGenerator(SIZE, **kw), seed) for seed in (1, 2))
    for gen, k in ((g, 0.3), (g_ema, -0.2)):
        gen.update_w_avg(paddle.full([4, 24], k), beta=0.0)
        gen.set_lod(0.5)
    d = randomize(StyleGANDiscriminator(SIZE, fmap_base=128, fmap_max=32, structure="linear"), 3)
    d.set_lod(0.5)
    src = "open(%r, 'w').write('ran')\n" % str(tmp_path / "executed")
    path = tmp_path / "karras2019stylegan-small.pkl"
    ww.write_pickle(path, ww.tf_v1_networks(_state(g), _state(d), SIZE, gs_state=_state(g_ema), src=src,
                                            fused_scale=True))
    dst = tmp_path / "v1.pdparams"
    out = run_script("tools/convert_weights.py", "--src", path, "--dst", dst, env=_hidden_frameworks(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "found: NVIDIA StyleGAN (v1, TensorFlow)" in out.stdout
    assert "generator (StyleGANGenerator): 16px, style_dim 24, mapping depth 2, fmap_base 128, fmap_max 32" \
        in out.stdout and "discriminator (StyleGANDiscriminator): 16px" in out.stdout
    gen, used = load_generator(str(dst))
    assert used == "gen_ema" and isinstance(gen, StyleGANGenerator) and gen.w_avg_tracked
    assert gen.current_level() == (4, 0.5) and all(layer.conv.fused for layer in gen.layers[2::2])
    z = paddle.randn([3, 24])
    g_ema.eval()
    with paddle.no_grad():
        for psi in (1.0, 0.5):
            assert max_diff(g_ema([z], noise="const", truncation=psi)[0].numpy(),
                            gen([z], noise="const", truncation=psi)[0].numpy()) < 1e-4, psi
        state = paddle.load(str(dst))
        g2 = StyleGANGenerator(SIZE, **kw)
        g2.set_state_dict(state["gen"])
        assert max_diff(g([z], noise="const")[0].numpy(), g2([z], noise="const")[0].numpy()) < 1e-4
        d2 = StyleGANDiscriminator(SIZE, fmap_base=128, fmap_max=32, structure="linear")
        d2.set_state_dict(state["disc"])
        img = paddle.randn([4, 3, SIZE, SIZE])
        assert max_diff(d(img).numpy(), d2(img).numpy()) < 1e-4
    assert state["meta"]["config"]["model"]["generator"]["name"] == "StyleGANGenerator"
    assert not (tmp_path / "executed").exists()


def test_paddlegan_generator_gets_a_deterministic_average(tmp_path, monkeypatch):
    import ppgan_stylegan.apps.convert as convert
    monkeypatch.setattr(convert, "AVERAGE_SAMPLES", 20_000)  # the file's 100k, shortened for the test
    paddle.seed(8)
    theirs = randomize(StyleGANv2Generator(16, 16, 1, channel_multiplier=1), 3)
    src = tmp_path / "paddlegan_g.pdparams"
    paddle.save(theirs.state_dict(), str(src))
    first, second = (convert.convert_checkpoint(str(src)) for _ in range(2))
    avg = first.nets["gen_ema"]["w_avg"]
    assert np.array_equal(avg, second.nets["gen_ema"]["w_avg"]) and first.nets["gen_ema"]["w_avg_updates"][0] == 1
    with paddle.no_grad():
        sampled = theirs.style(paddle.randn([20_000, 16])).mean(0).numpy()
    assert max_diff(avg, sampled) < 0.05 * max(1.0, float(np.abs(sampled).max()))
    assert any("numpy seed" in note for note in first.notes)
