"""StyleGAN2Generator behaviour beyond parity: S space, truncation, noise modes, sizes, w_avg."""
import numpy as np
import paddle
import pytest
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

from conftest import max_diff, randomize
from ppgan_stylegan import StyleGAN2Generator
from ppgan_stylegan.ops import double_backward

SMALL = dict(style_dim=32, n_mlp=2, channel_base=256, channel_max=32)


def small(size=16, **kw):
    paddle.seed(5)
    return randomize(StyleGAN2Generator(size, **{**SMALL, **kw}), seed=size)


def test_synthesis_of_style_affine_equals_wplus_forward():
    g = small(16)
    wplus = paddle.randn([2, g.n_latent, 32])
    with paddle.no_grad():
        a, _ = g([wplus], input_is_latent=True, randomize_noise=False)
        styles = g.style_affine(wplus)
        b = g.synthesis(styles, randomize_noise=False)
    assert len(styles) == 2 + 3 * (g.log_size - 2)
    assert [s.shape[1] for s in styles[:2]] == [g.channels[4], g.channels[4]]
    assert max_diff(a.numpy(), b.numpy()) == 0.0
    # S-space edit of one channel changes the image; strength 0 is the identity
    edited = list(styles)
    edited[3] = styles[3] + paddle.to_tensor(np.eye(styles[3].shape[1], dtype="float32")[0] * 5)
    with paddle.no_grad():
        c = g.synthesis(edited, randomize_noise=False)
    assert max_diff(c.numpy(), b.numpy()) > 1e-3


def test_w_input_broadcasts_like_wplus():
    g = small(16)
    w = paddle.randn([2, 32])
    with paddle.no_grad():
        a, la = g([w], input_is_latent=True, randomize_noise=False, return_latents=True)
        b, _ = g([la], input_is_latent=True, randomize_noise=False)
    assert la.shape == [2, g.n_latent, 32]
    assert max_diff(a.numpy(), b.numpy()) == 0.0


@pytest.mark.parametrize("cutoff", [0, 1, 3, 6])
def test_truncation_cutoff_is_per_layer(cutoff):
    g = small(16)  # n_latent = 6
    z = paddle.randn([3, 32])
    avg = paddle.randn([1, 32])
    with paddle.no_grad():
        _, plain = g([z], return_latents=True, randomize_noise=False)
        _, trunc = g([z], return_latents=True, randomize_noise=False, truncation=0.3,
                     truncation_cutoff=cutoff, truncation_latent=avg)
    plain, trunc = plain.numpy(), trunc.numpy()
    want = avg.numpy()[:, None] + 0.3 * (plain[:, :cutoff] - avg.numpy()[:, None])
    assert np.allclose(trunc[:, :cutoff], want, atol=1e-5)
    assert np.array_equal(trunc[:, cutoff:], plain[:, cutoff:])  # layers >= k untouched, every channel


def test_inject_index_at_the_ends_takes_one_latent():
    """Mixing at index 0 is the second latent everywhere, at n_latent the first (no empty slices)."""
    g = small(16)
    za, zb = paddle.randn([2, 32]), paddle.randn([2, 32])
    with paddle.no_grad():
        _, first = g([za], return_latents=True, randomize_noise=False)
        _, second = g([zb], return_latents=True, randomize_noise=False)
        _, at0 = g([za, zb], inject_index=0, return_latents=True, randomize_noise=False)
        _, at_end = g([za, zb], inject_index=g.n_latent, return_latents=True, randomize_noise=False)
        _, at2 = g([za, zb], inject_index=2, return_latents=True, randomize_noise=False)
    assert np.array_equal(at0.numpy(), second.numpy()) and np.array_equal(at_end.numpy(), first.numpy())
    assert np.array_equal(at2.numpy()[:, :2], first.numpy()[:, :2])
    assert np.array_equal(at2.numpy()[:, 2:], second.numpy()[:, 2:])


def test_truncation_psi_zero_gives_the_average_for_every_z():
    g = small(16)
    g.update_w_avg(g.get_latent(paddle.randn([64, 32])), beta=0.0)
    with paddle.no_grad():
        img, lat = g([paddle.randn([4, 32])], truncation=0.0, return_latents=True, randomize_noise=False)
    assert np.allclose(lat.numpy(), np.broadcast_to(g.w_avg.numpy(), lat.shape), atol=1e-6)
    assert max_diff(img.numpy()[0], img.numpy()[3]) < 1e-5


def test_noise_modes():
    g = small(16)
    for layer in [g.conv1] + list(g.convs):
        layer.noise.weight.set_value(paddle.to_tensor([1.0]))
    z = paddle.randn([2, 32])
    with paddle.no_grad():
        r1, _ = g([z], noise="random")
        r2, _ = g([z])  # randomize_noise=True default
        c1, _ = g([z], noise="const")
        c2, _ = g([z], randomize_noise=False)
        n1, _ = g([z], noise="none")
        zeros = [paddle.zeros(s) for s in g.noise_shapes(2)]
        n2, _ = g([z], noise=zeros)
        consts = [getattr(g.noises, f"noise_{i}") for i in range(g.num_layers)]
        c3, _ = g([z], noise=consts)
        holes = list(consts)
        holes[1] = None  # a None entry: fresh noise for that layer (rosinality), the others as given
        h1, _ = g([z], noise=holes)
        h2, _ = g([z], noise=holes)
        # the fast noise + bias + activation path equals the layers applied one by one
        ref = g.synthesis(g.style_affine(g.get_latent(z)), noise=consts, reference=True)
    assert max_diff(h1.numpy(), h2.numpy()) > 1e-3 and max_diff(h1.numpy(), c1.numpy()) > 1e-3
    assert max_diff(c1.numpy(), ref.numpy()) < 1e-4
    assert max_diff(r1.numpy(), r2.numpy()) > 1e-3  # fresh noise each call
    assert max_diff(c1.numpy(), c2.numpy()) == 0.0 and max_diff(c1.numpy(), c3.numpy()) == 0.0
    assert max_diff(n1.numpy(), n2.numpy()) == 0.0
    assert max_diff(n1.numpy(), c1.numpy()) > 1e-3
    with pytest.raises(ValueError, match="noise mode"):
        g([z], noise="gaussian")
    with pytest.raises(ValueError, match=r"noise\[2\] has shape"):
        bad = list(zeros)
        bad[2] = paddle.zeros([2, 1, 4, 4])
        g([z], noise=bad)


def test_is_concat_noise_is_explicit_or_documented_default():
    g = small(16, is_concat=True)
    z = paddle.randn([2, 32])
    shapes = g.noise_shapes(2)
    assert shapes == [[2, 32, 4, 4], [2, 32, 8, 8], [2, 32, 16, 16]]
    with paddle.no_grad():
        img, _ = g([z], noise=[paddle.randn(s) for s in shapes])
        assert img.shape == [2, 3, 16, 16]
        img, _ = g([z])  # default: random noise of the required shapes
        assert img.shape == [2, 3, 16, 16]
    with pytest.raises(ValueError, match=r"noise='const' is not available.*\[2, 32, 4, 4\]"):
        g([z], randomize_noise=False)
    with pytest.raises(ValueError, match=r"noise\[1\] has shape \[2, 1, 8, 8\], expected \[2, 32, 8, 8\]"):
        g([z], noise=[paddle.randn(shapes[0]), paddle.randn([2, 1, 8, 8]), paddle.randn(shapes[2])])


def test_ppgan_is_concat_crashes_without_noise_ours_does_not():
    paddle.seed(0)
    theirs = StyleGANv2Generator(16, 32, 1, channel_multiplier=1, is_concat=True)
    with pytest.raises(Exception):
        theirs([paddle.randn([1, 32])])
    ours = StyleGAN2Generator(16, 32, 1, channel_multiplier=1, is_concat=True)
    ours.set_state_dict(theirs.state_dict())
    assert ours([paddle.randn([1, 32])])[0].shape == [1, 3, 16, 16]


@pytest.mark.parametrize("size", [8, 16, 128])
def test_sizes_power_of_two(size):
    g = StyleGAN2Generator(size, style_dim=16, n_mlp=1, channel_base=64, channel_max=16)
    with paddle.no_grad():
        img, _ = g([paddle.randn([1, 16])])
    assert img.shape == [1, 3, size, size]
    assert g.n_latent == 2 * int(np.log2(size)) - 2


@pytest.mark.parametrize("bad", [0, 4, 48, 100, 2048, 33.0, "256"])
def test_bad_sizes_raise_value_error_naming_the_value(bad):
    with pytest.raises(ValueError, match=f"got {bad!r}".replace("(", r"\(").replace(")", r"\)")):
        StyleGAN2Generator(bad, style_dim=16, n_mlp=1)


def test_w_avg_tracking_and_ppgan_file_fallback(tmp_path):
    g = small(16)
    assert not g.w_avg_tracked
    w = g.get_latent(paddle.randn([16, 32]))
    g.update_w_avg(w, beta=0.995)
    assert g.w_avg_tracked
    assert np.allclose(g.w_avg.numpy(), 0.005 * w.numpy().mean(0), atol=1e-6)
    g.update_w_avg(w)
    assert np.allclose(g.w_avg.numpy(), (0.995 * 0.005 + 0.005) * w.numpy().mean(0), atol=1e-6)
    # saved with the state dict and restored
    path = str(tmp_path / "g.pdparams")
    paddle.save(g.state_dict(), path)
    g2 = small(16)
    g2.set_state_dict(paddle.load(path))
    assert g2.w_avg_tracked and np.allclose(g2.w_avg.numpy(), g.w_avg.numpy())
    assert np.allclose(g2.truncation_mean().numpy()[0], g.w_avg.numpy())
    # a ppgan file has no w_avg: tracking resets and a sampled mean (cached) is used
    ppgan_state = {k: v for k, v in g.state_dict().items() if not k.startswith("w_avg")}
    g2.set_state_dict(ppgan_state)
    assert not g2.w_avg_tracked
    m1, m2 = g2.truncation_mean(), g2.truncation_mean()
    assert m1 is m2 and m1.shape == [1, 32]
    paddle.seed(0)
    sampled = g2.get_mean_style()
    assert max_diff(m1.numpy(), sampled.numpy()) < 0.05  # same estimator, different samples


def test_generator_is_twice_differentiable_for_path_length():
    g = small(16)
    w = g.get_latent(paddle.randn([2, 32])).unsqueeze(1).tile([1, g.n_latent, 1]).detach()
    w.stop_gradient = False
    with double_backward():  # what the path-length step enters (polyphase transposed convs on CPU)
        img, _ = g([w], input_is_latent=True)
    noise = paddle.randn(img.shape) / 16
    (grad,) = paddle.grad((img * noise).sum(), w, create_graph=True)
    lengths = paddle.sqrt((grad * grad).sum(2).mean(1))
    ((lengths - lengths.mean()) ** 2).mean().backward()
    grads = [p.grad for p in g.parameters() if p.grad is not None]
    assert len(grads) > 10 and all(np.isfinite(p.numpy()).all() for p in grads)
