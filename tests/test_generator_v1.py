"""StyleGAN (v1) G_style: the seed's parameter table, structures and level of detail, the fused up-sampling conv,
AdaIN, the shared generator API, double backward."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from conftest import max_diff, randomize
from ppgan_stylegan import StyleGANGenerator
from ppgan_stylegan.ops import adaptive_instance_norm, instance_norm, style_mod_ref

# NVlabs' printout of G_style at 1024 (layer, params), from the StyleGAN v1 walk-through (seeds/002, 2.2.3).
G_STYLE_1024 = [(f"G_mapping/Dense{i}", 262656) for i in range(8)] + [
    ("G_synthesis/4x4/Const", 534528), ("G_synthesis/4x4/Conv", 2885632), ("G_synthesis/ToRGB_lod8", 1539),
    ("G_synthesis/8x8/Conv0_up", 2885632), ("G_synthesis/8x8/Conv1", 2885632), ("G_synthesis/ToRGB_lod7", 1539),
    ("G_synthesis/16x16/Conv0_up", 2885632), ("G_synthesis/16x16/Conv1", 2885632), ("G_synthesis/ToRGB_lod6", 1539),
    ("G_synthesis/32x32/Conv0_up", 2885632), ("G_synthesis/32x32/Conv1", 2885632), ("G_synthesis/ToRGB_lod5", 1539),
    ("G_synthesis/64x64/Conv0_up", 1442816), ("G_synthesis/64x64/Conv1", 852992), ("G_synthesis/ToRGB_lod4", 771),
    ("G_synthesis/128x128/Conv0_up", 426496), ("G_synthesis/128x128/Conv1", 279040),
    ("G_synthesis/ToRGB_lod3", 387),
    ("G_synthesis/256x256/Conv0_up", 139520), ("G_synthesis/256x256/Conv1", 102656),
    ("G_synthesis/ToRGB_lod2", 195),
    ("G_synthesis/512x512/Conv0_up", 51328), ("G_synthesis/512x512/Conv1", 42112), ("G_synthesis/ToRGB_lod1", 99),
    ("G_synthesis/1024x1024/Conv0_up", 21056), ("G_synthesis/1024x1024/Conv1", 18752),
    ("G_synthesis/ToRGB_lod0", 51),
]


def test_g_style_matches_the_seed_table():
    g = StyleGANGenerator(1024)
    assert g.layer_table() == G_STYLE_1024
    assert sum(int(p.numel()) for p in g.parameters()) == 26_219_627 == sum(c for _, c in G_STYLE_1024)
    assert g.n_latent == 18 and [list(getattr(g.noises, f"noise_{i}").shape) for i in (0, 17)] == \
        [[1, 1, 4, 4], [1, 1, 1024, 1024]]
    assert [layer.conv.fused for layer in g.layers[2::2]] == [False] * 4 + [True] * 4  # fused_scale='auto'


def small(structure="linear", seed=3, **kw):
    paddle.seed(seed)
    g = StyleGANGenerator(32, 32, 2, fmap_base=128, fmap_max=32, structure=structure, **kw)
    return randomize(g, seed)


def _run(g, w, lod=None):
    if lod is not None:
        g.set_lod(lod)
    with paddle.no_grad():
        return g([w], input_is_latent=True, noise="const")[0].numpy()


def _hand_image(g, w, lod):
    """The seed's linear structure, computed by hand: layers one by one, numpy blending and nearest up-sampling."""
    styles = g.style_affine(w)
    noise = [getattr(g.noises, f"noise_{i}") for i in range(g.num_layers)]
    with paddle.no_grad():
        feats = {}
        x = g.layers[0](g.const.tile([w.shape[0], 1, 1, 1]), styles[0], noise[0])
        feats[2] = x = g.layers[1](x, styles[1], noise[1])
        for res in range(3, g.log_size + 1):
            for i in (2 * res - 4, 2 * res - 3):
                x = g.layers[i](x, styles[i], noise[i])
            feats[res] = x
        rgb = {res: g.to_rgbs[res - 2](f).numpy() for res, f in feats.items()}

    def up(a, factor=2):
        return a.repeat(factor, axis=2).repeat(factor, axis=3)

    images = rgb[2]
    for res in range(3, g.log_size + 1):  # images_out = lerp_clip(img, upscale(images_out), lod - level)
        t = float(np.clip(lod - (g.log_size - res), 0, 1))
        images = rgb[res] + (up(images) - rgb[res]) * t
    return images


def test_fixed_and_linear_agree_at_lod_zero_and_linear_blends_as_the_seed():
    fixed, linear = small("fixed"), small("linear")
    linear.set_state_dict(fixed.state_dict())
    w = paddle.randn([3, 32])
    ref = _run(fixed, w)
    assert max_diff(_run(linear, w, 0), ref) < 1e-5
    fixed.set_lod(2)  # ignored by the fixed structure
    assert max_diff(_run(fixed, w), ref) < 1e-6
    for lod in (0, 0.3, 1, 1.5, 2.75, 3):
        out = _run(linear, w, lod)
        assert out.shape == (3, 3, 32, 32)
        assert max_diff(out, _hand_image(linear, w, lod)) < 1e-5, lod
    assert max_diff(_run(linear, w, 1), _run(linear, w, 1.5)) > 1e-3  # the blend moves
    with pytest.raises(ValueError, match="lod must be in"):
        linear.set_lod(3.5)


def test_zero_torgb_init_lets_a_level_enter_as_the_upsampled_coarser_image():
    """torgb_init='zero' (our option, not NVIDIA's He init): a level's ToRGB starts at zero, so while it fades in
    the image is the coarser level's scaled by the blend weight, never the new level's untrained output."""
    from ppgan_stylegan.core.errors import ConfigError

    paddle.seed(5)
    g = StyleGANGenerator(32, 32, 2, fmap_base=128, fmap_max=32, torgb_init="zero")
    assert all(float(paddle.abs(t.weight).max()) == 0 for t in g.to_rgbs)
    paddle.assign(paddle.randn(g.to_rgbs[2].weight.shape), output=g.to_rgbs[2].weight)  # 16 px: as if trained
    w = paddle.randn([3, 32])
    coarse = _run(g, w, 1)
    assert np.abs(coarse).max() > 0.1
    for lod in (0.9, 0.5, 0.1):  # fading in 32 px
        np.testing.assert_allclose(_run(g, w, lod), lod * coarse, atol=1e-6)
    he = StyleGANGenerator(32, 32, 2, fmap_base=128, fmap_max=32)  # NVIDIA's: the new level shows at once
    he.to_rgbs[2].set_state_dict(g.to_rgbs[2].state_dict())
    assert max_diff(_run(he, w, 0.5), 0.5 * _run(he, w, 1)) > 1e-2
    with pytest.raises(ConfigError, match=r"torgb_init: expected one of \['he', 'zero'\], got 'xavier'"):
        StyleGANGenerator(32, 32, 2, fmap_base=128, fmap_max=32, torgb_init="xavier")


def test_fused_upsampling_conv_is_nearest_plus_conv_with_the_flipped_kernel():
    g = small(fused_scale=True)
    layer = g.layers[2].conv
    assert layer.fused
    x = paddle.randn([2, 32, 4, 4])
    w = layer.conv.weight * layer.conv.scale
    expected = F.conv2d(x.repeat_interleave(2, 2).repeat_interleave(2, 3), paddle.flip(w, [2, 3]), padding=1)
    assert max_diff(layer(x).numpy(), expected.numpy()) < 1e-5
    layer.fused = False
    assert max_diff(layer(x).numpy(), F.conv2d(x.repeat_interleave(2, 2).repeat_interleave(2, 3), w,
                                                  padding=1).numpy()) < 1e-5


def test_adain_fast_path_equals_the_reference():
    x, style = paddle.randn([3, 8, 5, 5]) * 3 + 1, paddle.randn([3, 16])
    assert max_diff(adaptive_instance_norm(x, style).numpy(), style_mod_ref(instance_norm(x), style).numpy()) < 1e-5


def test_shared_api_truncation_mixing_noise_and_w_avg():
    g = small(truncation_cutoff=5)  # (NVIDIA: 8 of 18 dlatents at 1024; this one has 8)
    z = paddle.randn([2, 32])
    g.eval()
    with paddle.no_grad():
        w = g.get_latent(z)
        g.update_w_avg(paddle.randn([64, 32]), beta=0.0)
        wplus = w.unsqueeze(1).tile([1, g.n_latent, 1])
        a = g([wplus], input_is_latent=True, noise="const")[0]
        b = g([w], input_is_latent=True, noise="const")[0]
        assert max_diff(a.numpy(), b.numpy()) < 1e-6  # W == broadcast W+
        # truncation=None: the generator's default (NVIDIA: psi 0.7) in eval mode, none in training
        _, lat = g([z], truncation=None, return_latents=True, noise="const")
        expected = g.truncate(g._broadcast([w], None), 0.7, 5)
        assert max_diff(lat.numpy(), expected.numpy()) < 1e-6
        assert max_diff(lat[:, 5:].numpy(), wplus[:, 5:].numpy()) < 1e-6
        assert max_diff(lat[:, :5].numpy(), wplus[:, :5].numpy()) > 1e-3
        g.train()
        _, lat = g([z], truncation=None, return_latents=True, noise="const")
        assert max_diff(lat.numpy(), wplus.numpy()) < 1e-6
        g.eval()
        # mixing at inject_index 3: the first 3 dlatents from z1, the rest from z2
        z2 = paddle.randn([2, 32])
        _, lat = g([z, z2], inject_index=3, return_latents=True)
        assert max_diff(lat[:, :3].numpy(), wplus[:, :3].numpy()) < 1e-6
        assert max_diff(lat[:, 3:].numpy(), g.get_latent(z2).unsqueeze(1).tile([1, 5, 1]).numpy()) < 1e-6
        g.set_lod(2)  # 8x8: mixing draws among the 4 dlatents in use
        assert g.mixing_layers() == 4
        g.set_lod(0)
        # noise: explicit == const; 'none' differs; random differs run to run
        const = [getattr(g.noises, f"noise_{i}") for i in range(g.num_layers)]
        assert max_diff(g([w], input_is_latent=True, noise=const)[0].numpy(), b.numpy()) < 1e-6
        assert max_diff(g([w], input_is_latent=True, noise="none")[0].numpy(), b.numpy()) > 1e-4
        assert [list(t.shape) for t in g.make_noise()] == g.noise_shapes(1)
        with pytest.raises(ValueError, match="noise\\[0\\] has shape"):
            g([w], input_is_latent=True, noise=[paddle.randn([1, 1, 8, 8])] * g.num_layers)
        assert g.mean_latent(16).shape == [1, 32]


def test_state_round_trip_keeps_lod(tmp_path):
    g = small()
    g.set_lod(1.25)
    path = str(tmp_path / "g.pdparams")
    paddle.save(g.state_dict(), path)
    h = small(seed=9)
    h.set_state_dict(paddle.load(path))
    w = paddle.randn([2, 32])
    assert h.current_level() == (4, 0.25)
    assert max_diff(_run(g, w), _run(h, w)) < 1e-6


def test_g_style_is_twice_differentiable_on_cpu():
    """Fused and nearest up-sampling convs both (R1 differentiates D only, but G's ops stay on the same footing)."""
    from ppgan_stylegan.ops import double_backward
    for fused in (True, False):
        g = small(fused_scale=fused)
        z = paddle.randn([2, 32])
        with double_backward():
            img, lat = g([z], return_latents=True, noise="const")
            grad, = paddle.grad((img * img).sum(), lat, create_graph=True)
            (grad * grad).sum().backward()
        assert float(paddle.abs(g.layers[2].conv.conv.weight.grad).sum()) > 0
