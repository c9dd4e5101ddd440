"""Numerical parity with ppgan 2.1.0's StyleGANv2 classes: same state dict, same outputs."""
import numpy as np
import paddle
import pytest
from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

from conftest import max_diff, randomize
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator

STYLE_DIM, N_MLP, BATCH = 64, 2, 2
TOL = 1e-4

SLOW = pytest.mark.slow  # the 64 px cases take 7-23 s each on 2 cores; 32 px covers the same code paths
CASES = [(32, 1, False), (32, 2, False), (32, 1, True), (32, 2, True)] + [
    pytest.param(64, cm, concat, marks=SLOW) for cm, concat in [(1, False), (2, False), (1, True), (2, True)]]


def _pair(size, cm, is_concat, seed):
    paddle.seed(seed)
    theirs = StyleGANv2Generator(size, STYLE_DIM, N_MLP, channel_multiplier=cm, is_concat=is_concat)
    randomize(theirs, seed)
    ours = StyleGAN2Generator(size, STYLE_DIM, N_MLP, channel_multiplier=cm, is_concat=is_concat)
    ours.set_state_dict(theirs.state_dict())
    theirs.eval(), ours.eval()
    return theirs, ours


def _noise(gen, seed):
    rng = np.random.RandomState(seed)
    return [paddle.to_tensor(rng.standard_normal(s).astype("float32")) for s in gen.noise_shapes(BATCH)]


@pytest.mark.parametrize("size,cm,is_concat", CASES)
def test_generator_parity(size, cm, is_concat):
    theirs, ours = _pair(size, cm, is_concat, seed=size + cm + is_concat)
    theirs_keys = {k: list(v.shape) for k, v in theirs.state_dict().items()}
    ours_keys = {k: list(v.shape) for k, v in ours.state_dict().items()}
    assert set(ours_keys) - set(theirs_keys) == {"w_avg", "w_avg_updates"}
    assert all(ours_keys[k] == s for k, s in theirs_keys.items())

    rng = np.random.RandomState(0)
    z1, z2 = (paddle.to_tensor(rng.standard_normal([BATCH, STYLE_DIM]).astype("float32")) for _ in range(2))
    noise = _noise(ours, 1)
    avg = paddle.to_tensor(rng.standard_normal([1, STYLE_DIM]).astype("float32"))
    with paddle.no_grad():
        variants = [dict(), dict(inject_index=2, truncation=0.5, truncation_latent=avg)]
        if size == 32:  # the cheap sizes also check mixing and truncation on their own
            variants += [dict(inject_index=3), dict(truncation=0.6, truncation_latent=avg)]
        for kwargs in variants:
            styles = [z1, z2] if "inject_index" in kwargs else [z1]
            a, la = theirs(styles, noise=noise, return_latents=True, **kwargs)
            b, lb = ours(styles, noise=noise, return_latents=True, **kwargs)
            assert b.shape == [BATCH, 3, size, size]
            diff = max_diff(a.numpy(), b.numpy())
            assert diff < TOL, (kwargs, diff)
            assert max_diff(la.numpy(), lb.numpy()) < 1e-5
            # the numbers must not be trivially equal (e.g. all zeros)
            assert float(b.abs().mean()) > 1e-3


@pytest.mark.parametrize("size,cm", [(32, 1)])
def test_generator_parity_const_noise_and_wplus(size, cm):
    theirs, ours = _pair(size, cm, False, seed=7)
    z = paddle.randn([BATCH, STYLE_DIM])
    with paddle.no_grad():
        a, _ = theirs([z], randomize_noise=False)
        b, _ = ours([z], randomize_noise=False)
        assert max_diff(a.numpy(), b.numpy()) < TOL
        wplus = paddle.randn([BATCH, ours.n_latent, STYLE_DIM])
        a, _ = theirs([wplus], input_is_latent=True, randomize_noise=False)
        b, _ = ours([wplus], input_is_latent=True, randomize_noise=False)
        assert max_diff(a.numpy(), b.numpy()) < TOL


@pytest.mark.parametrize("size,cm", [(32, 1), (32, 2), pytest.param(64, 1, marks=SLOW),
                                     pytest.param(64, 2, marks=SLOW)])
def test_discriminator_parity(size, cm):
    paddle.seed(size * cm)
    theirs = randomize(StyleGANv2Discriminator(size, channel_multiplier=cm), seed=size)
    ours = StyleGAN2Discriminator(size, channel_multiplier=cm)
    assert {k: list(v.shape) for k, v in ours.state_dict().items()} == \
        {k: list(v.shape) for k, v in theirs.state_dict().items()}
    ours.set_state_dict(theirs.state_dict())
    x = paddle.randn([4, 3, size, size])
    with paddle.no_grad():
        a, b = theirs(x), ours(x)
    assert b.shape == [4, 1]
    assert max_diff(a.numpy(), b.numpy()) < TOL
    assert float(b.abs().mean()) > 1e-4
