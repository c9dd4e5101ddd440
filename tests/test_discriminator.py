"""Discriminators: parameter counts, D_basic layer table, structures, labels, double backward (R1)."""
import numpy as np
import paddle
import pytest

from conftest import max_diff, randomize
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator, StyleGANDiscriminator


def n_params(net):
    return sum(int(p.numel()) for p in net.parameters())


@pytest.mark.parametrize("size,cm,g_params,d_params", [
    (1024, 2, 30_370_060, 29_012_513),
    (256, 2, 30_034_338, 28_864_129),
    (256, 1, 24_767_458, 24_001_089),
])
def test_parameter_counts(size, cm, g_params, d_params):
    g = StyleGAN2Generator(size, 512, 8, channel_multiplier=cm)
    assert n_params(g) == g_params
    assert n_params(g.style) == 2_101_248
    assert n_params(StyleGAN2Discriminator(size, channel_multiplier=cm)) == d_params


# NVlabs' printout of D_basic at 1024 (layer, params), from the StyleGAN v1 walk-through.
D_BASIC_1024 = [
    ("FromRGB_lod0", 64), ("1024x1024/Conv0", 2320), ("1024x1024/Conv1_down", 4640), ("FromRGB_lod1", 128),
    ("512x512/Conv0", 9248), ("512x512/Conv1_down", 18496), ("FromRGB_lod2", 256),
    ("256x256/Conv0", 36928), ("256x256/Conv1_down", 73856), ("FromRGB_lod3", 512),
    ("128x128/Conv0", 147584), ("128x128/Conv1_down", 295168), ("FromRGB_lod4", 1024),
    ("64x64/Conv0", 590080), ("64x64/Conv1_down", 1180160), ("FromRGB_lod5", 2048),
    ("32x32/Conv0", 2359808), ("32x32/Conv1_down", 2359808), ("FromRGB_lod6", 2048),
    ("16x16/Conv0", 2359808), ("16x16/Conv1_down", 2359808), ("FromRGB_lod7", 2048),
    ("8x8/Conv0", 2359808), ("8x8/Conv1_down", 2359808), ("FromRGB_lod8", 2048),
    ("4x4/Conv", 2364416), ("4x4/Dense0", 4194816), ("4x4/Dense1", 513),
]


def test_d_basic_matches_nvlabs_table():
    d = StyleGANDiscriminator(1024)
    assert d.layer_table() == D_BASIC_1024
    assert n_params(d) == 23_087_249 == sum(c for _, c in D_BASIC_1024)


def _small_d1(structure, **kw):
    paddle.seed(2)
    return randomize(StyleGANDiscriminator(32, fmap_base=256, fmap_max=32, structure=structure, **kw), 3)


def test_d_basic_linear_structure_blends_by_lod():
    x = paddle.randn([4, 3, 32, 32])
    fixed, linear = _small_d1("fixed"), _small_d1("linear")
    linear.set_state_dict(fixed.state_dict())
    with paddle.no_grad():
        assert max_diff(fixed(x).numpy(), linear(x).numpy()) < 1e-5  # lod 0 == fixed
        linear.set_lod(3)  # 4x4 only: the full-resolution FromRGB no longer matters
        a = linear(x).numpy()
        fixed.from_rgbs[0].conv.weight.set_value(paddle.zeros_like(fixed.from_rgbs[0].conv.weight))
        linear.set_state_dict(fixed.state_dict())
        linear.set_lod(3)
        assert max_diff(linear(x).numpy(), a) < 1e-5
        linear.set_lod(0.5)
        assert max_diff(linear(x).numpy(), a) > 1e-4
    with pytest.raises(ValueError, match="lod must be in"):
        linear.set_lod(9)
    with pytest.raises(ValueError, match="structure: expected one of"):
        StyleGANDiscriminator(32, structure="recursive")


def test_d_basic_labels_and_relu():
    d = _small_d1("fixed", label_size=3, nonlinearity="relu")
    x = paddle.randn([4, 3, 32, 32])
    labels = paddle.to_tensor(np.eye(3, dtype="float32")[[0, 1, 2, 0]])
    out = d(x, labels)
    assert out.shape == [4, 1]
    with pytest.raises(ValueError, match="labels are required"):
        d(x)


@pytest.mark.parametrize("make", [
    lambda: StyleGAN2Discriminator(16, channel_base=256, channel_max=32),
    lambda: StyleGANDiscriminator(16, fmap_base=128, fmap_max=32, structure="linear"),
])
def test_r1_double_backward_through_discriminators(make):
    d = randomize(make(), 1)
    if hasattr(d, "set_lod"):
        d.set_lod(0.5)  # fading in the top block: the two FromRGB layers it blends are used, the others not
    real = paddle.randn([4, 3, 16, 16])
    real.stop_gradient = False
    pred = d(real)
    (grad,) = paddle.grad(pred.sum(), real, create_graph=True)
    penalty = (grad * grad).reshape([4, -1]).sum(1).mean()
    penalty.backward()
    weights = {n: p for n, p in d.named_parameters() if n.endswith("weight")
               and not (n.startswith("from_rgbs.") and int(n.split(".")[1]) > 1)}
    # every weight on the path gets an R1 gradient (a bias right before a ReLU has zero second derivative)
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in weights.values())
    assert float(penalty) > 0


def test_discriminator_shape_check():
    d = StyleGAN2Discriminator(16, channel_base=256, channel_max=32)
    with pytest.raises(AssertionError, match=r"expected \[N, 3, 16, 16\]"):
        d(paddle.randn([2, 3, 32, 32]))
