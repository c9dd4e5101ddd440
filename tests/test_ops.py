"""Every op: fast path == reference path, and twice differentiable on CPU where training needs it."""
import numpy as np
import paddle
import pytest

from conftest import max_diff
from ppgan_stylegan.ops import (FIRFilter, add_channel_bias, bias_leaky_relu, bias_leaky_relu_ref, conv_transpose2x,
                                conv_transpose2x_polyphase, double_backward, fir_matrix, make_kernel, mbstd_group,
                                minibatch_stddev, modulated_conv2d, modulated_conv2d_ref, noise_bias_leaky_relu,
                                upfirdn2d, upfirdn2d_ref)
from ppgan_stylegan.ops.equalized import EqualConv2D, EqualLinear


def _double_backward(fn, x):
    """grad of fn(x) w.r.t. x with create_graph, then backward of its squared norm (R1 pattern)."""
    x = x.detach()
    x.stop_gradient = False
    (g,) = paddle.grad(fn(x).sum(), x, create_graph=True)
    (g * g).sum().backward()
    return g


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 1)), (2, 1, (2, 1)), (1, 2, (1, 1)), (1, 2, (2, 2)),
                                         (2, 2, (1, 0)), (1, 1, (-1, 2, 0, 3)), (2, 1, (1, 1))])
@pytest.mark.parametrize("kernel", [[1, 3, 3, 1], [1, 2, 1], [1, 1]])
def test_upfirdn2d_fast_matches_reference(up, down, pad, kernel):
    x = paddle.randn([2, 3, 9, 8])
    gain = up * up
    fast = upfirdn2d(x, make_kernel(kernel, gain), up, down, pad)
    ref = upfirdn2d_ref(x, make_kernel(kernel, gain), up, down, pad)
    assert fast.shape == ref.shape
    assert max_diff(fast.numpy(), ref.numpy()) < 1e-5


def test_upfirdn2d_reference_against_numpy_definition():
    x = np.random.RandomState(0).standard_normal([1, 1, 5, 5]).astype("float32")
    k = make_kernel([1, 3, 3, 1], 4)
    # zero insertion, pad (2, 1), full correlation with the flipped kernel
    u = np.zeros([10, 10], "float32")
    u[::2, ::2] = x[0, 0]
    u = np.pad(u, ((2, 1), (2, 1)))
    kf = k[::-1, ::-1]
    want = np.array([[(u[i:i + 4, j:j + 4] * kf).sum() for j in range(10)] for i in range(10)])
    got = upfirdn2d_ref(paddle.to_tensor(x), k, up=2, pad=(2, 1)).numpy()[0, 0]
    assert np.abs(got - want).max() < 1e-5


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 1)), (2, 1, (2, 1)), (1, 2, (1, 1)), (1, 2, (2, 2)),
                                         (2, 2, (1, 0)), (1, 1, (-1, 2, 0, 3)), (1, 1, (2, 1, 1, 2))])
@pytest.mark.parametrize("kernel", [[1, 3, 3, 1], [1, 2, 1], [1, 1]])
def test_fir_layer_separable_matrices_match_reference(up, down, pad, kernel):
    x = paddle.randn([2, 3, 9, 8])
    layers = {impl: FIRFilter(kernel, pad, up=up, down=down, gain=up * up, impl=impl)
              for impl in ("fast", "conv", "ref")}
    assert layers["fast"]._use_matrices(x)  # 1-D taps on CPU: the matrix path
    ref = layers["ref"](x).numpy()
    for impl in ("fast", "conv"):
        out = layers[impl](x)
        assert out.shape == list(ref.shape)
        assert max_diff(out.numpy(), ref) < 1e-5, impl


def test_fir_matrix_is_the_1d_definition():
    # up 2, pad (2, 1), taps [1, 3, 3, 1] / 4: zero insertion, pad, correlate with the flipped taps
    sig = np.array([1.0, -2.0, 0.5])
    taps = np.array([1.0, 2.0, 3.0, 4.0]) / 4  # not symmetric: the flip matters
    u = np.pad(np.array([1.0, 0, -2.0, 0, 0.5, 0]), (2, 1))
    want = np.array([(u[i:i + 4] * taps[::-1]).sum() for i in range(len(u) - 3)])
    assert np.allclose(fir_matrix(3, taps, up=2, pad=(2, 1)) @ sig, want, atol=1e-6)
    assert np.allclose(fir_matrix(3, taps, down=2, pad=(2, 1)) @ sig,
                       np.array([(np.pad(sig, (2, 1))[i:i + 4] * taps[::-1]).sum() for i in range(0, 3, 2)]))
    with pytest.raises(ValueError, match="shorter than 4 taps"):
        fir_matrix(1, taps)


def test_fir_layers_twice_differentiable_and_2d_kernels():
    x = paddle.randn([2, 4, 8, 8])
    for impl in ("fast", "conv"):
        for layer in [FIRFilter([1, 3, 3, 1], (2, 1), up=2, gain=4, impl=impl),
                      FIRFilter([1, 3, 3, 1], (2, 2), down=2, impl=impl)]:
            with double_backward():
                g = _double_backward(lambda t: layer(t) ** 2, x)
            assert g.shape == x.shape
    k2d = np.array([[1, 2, 0], [2, 8, 2], [1, 3, 1]], "float32")  # not separable, not symmetric
    for up, down, pad in [(1, 1, (1, 1)), (2, 1, (1, 1)), (1, 2, (1, 0))]:
        layer = FIRFilter(k2d, pad, up=up, down=down, gain=up * up)
        want = upfirdn2d_ref(x, make_kernel(k2d, up * up), up, down, pad).numpy()
        assert max_diff(layer(x).numpy(), want) < 1e-5


def test_bias_leaky_relu_fast_matches_reference_and_formula():
    x = paddle.randn([3, 5, 4, 4])
    b = paddle.randn([5])
    fast, ref = bias_leaky_relu(x, b), bias_leaky_relu_ref(x, b)
    assert max_diff(fast.numpy(), ref.numpy()) < 1e-6
    v = x.numpy() + b.numpy().reshape(1, 5, 1, 1)
    assert np.allclose(fast.numpy(), np.where(v >= 0, v, 0.2 * v) * np.sqrt(2), atol=1e-6)
    _double_backward(lambda t: bias_leaky_relu(t, b) ** 2, x)
    assert max_diff(add_channel_bias(x, b).numpy(), v) < 1e-6


@pytest.mark.parametrize("noise_batch", [3, 1])
def test_noise_bias_leaky_relu_matches_noise_then_bias(noise_batch):
    paddle.seed(noise_batch)
    x, b, strength = paddle.randn([3, 5, 4, 6]), paddle.randn([5]), paddle.to_tensor([0.7])
    noise = paddle.randn([noise_batch, 1, 4, 6])
    for t in (x, b, strength):
        t.stop_gradient = False
    fast = noise_bias_leaky_relu(x, noise, strength, b)
    ref = bias_leaky_relu_ref(x + strength * noise, b)
    assert max_diff(fast.numpy(), ref.numpy()) < 1e-6
    grads = [paddle.grad((out * out).sum(), [x, b, strength]) for out in (fast, ref)]
    for g_fast, g_ref in zip(*grads):  # sums over up to 72 terms: float32 rounding relative to the size
        assert max_diff(g_fast.numpy(), g_ref.numpy()) < 1e-6 * max(1.0, float(g_ref.abs().max()))


@pytest.mark.parametrize("x_scaled", [False, True])
@pytest.mark.parametrize("channels_strength", [False, True])  # StyleGAN2's one strength / v1's one per channel
def test_noise_bias_leaky_relu_static_form_agrees(x_scaled, channels_strength):
    """The form exported graphs use (broadcast adds: Paddle Inference's oneDNN passes break the matmul form) equals
    the eager matmul form."""
    paddle.seed(7)
    x, b, noise = paddle.randn([2, 5, 4, 6]), paddle.randn([5]), paddle.randn([1, 1, 4, 6])
    strength = paddle.randn([5]) if channels_strength else paddle.to_tensor([0.7])

    layer = _NoiseBias(x_scaled)  # (a layer: Paddle 2.6's dy2static loses a closure's free variables)
    eager = layer(x, noise, strength, b)
    static = paddle.jit.to_static(layer.forward, full_graph=True)(x, noise, strength, b)
    assert max_diff(eager.numpy(), static.numpy()) < 1e-6


class _NoiseBias(paddle.nn.Layer):
    def __init__(self, x_scaled):
        super().__init__()
        self.x_scaled = x_scaled

    def forward(self, x, noise, strength, b):
        return noise_bias_leaky_relu(x, noise, strength, b, x_scaled=self.x_scaled)


@pytest.mark.parametrize("activation", [None, "fused_lrelu"])
def test_equal_linear_static_form_agrees(activation):
    paddle.seed(8)
    layer = EqualLinear(6, 4, bias_init=0.1, lr_mul=0.01, activation=activation)
    x = paddle.randn([3, 6])
    assert max_diff(layer(x).numpy(), paddle.jit.to_static(layer.forward, full_graph=True)(x).numpy()) < 1e-6


@pytest.mark.parametrize("mode", ["plain", "up", "down"])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_fused_nonfused_reference_agree(mode, demodulate):
    paddle.seed(3)
    x = paddle.randn([3, 5, 8, 8])
    w = paddle.randn([6, 5, 3, 3]) / 5
    s = paddle.randn([3, 5])
    kw = dict(demodulate=demodulate, up=mode == "up", down=mode == "down", padding=1)
    if mode == "up":
        blur, blur_ref = (FIRFilter([1, 3, 3, 1], (1, 1), gain=4, impl=i) for i in ("fast", "ref"))
    else:
        blur, blur_ref = (FIRFilter([1, 3, 3, 1], (2, 2), impl=i) for i in ("fast", "ref"))
    ref = modulated_conv2d_ref(x, w, s, blur=blur_ref, **kw)
    for fused in (False, True):
        out = modulated_conv2d(x, w, s, blur=blur, fused=fused, **kw)
        assert out.shape == ref.shape
        assert max_diff(out.numpy(), ref.numpy()) < 1e-5, (mode, fused)
        with paddle.no_grad():  # inference dispatch (conv2d_transpose for up)
            out = modulated_conv2d(x, w, s, blur=blur, fused=fused, **kw)
        assert max_diff(out.numpy(), ref.numpy()) < 1e-5, (mode, fused, "no_grad")
    # eq. (1)-(3) by hand for one output pixel of the plain conv
    if mode == "plain":
        wn = w.numpy()[None] * s.numpy()[:, None, :, None, None]
        if demodulate:
            wn = wn / np.sqrt((wn ** 2).sum(axis=(2, 3, 4), keepdims=True) + 1e-8)
        patch = x.numpy()[1, :, 2:5, 3:6]
        assert abs((wn[1, 4] * patch).sum() - ref.numpy()[1, 4, 3, 4]) < 1e-4


@pytest.mark.parametrize("k,demodulate,size", [(1, False, 8), (1, True, 8), (1, False, 1), (3, True, 8),
                                                 (3, False, 8)])
def test_modulated_conv_gain_and_1x1_matmul_path_match_reference(k, demodulate, size):
    # 1x1 without resampling and fewer outputs than pixels: one batched matmul (ToRGB); 1x1 px with 3 outputs
    # and 5 inputs: not fewer, the conv path. ``gain`` folds into the coefficients: == reference * gain.
    paddle.seed(k + 2 * demodulate)
    x, w, s = paddle.randn([3, 5, size, size]), paddle.randn([3, 5, k, k]) / 5, paddle.randn([3, 5])
    for t in (x, w, s):
        t.stop_gradient = False
    ref = modulated_conv2d_ref(x, w, s, demodulate=demodulate, padding=k // 2) * 1.7
    for fused in (False, True):
        out = modulated_conv2d(x, w, s, demodulate=demodulate, padding=k // 2, fused=fused, gain=1.7)
        assert out.shape == ref.shape
        assert max_diff(out.numpy(), ref.numpy()) < 1e-5, fused
        grads = [paddle.grad((o * o).sum(), [x, w, s]) for o in (out, modulated_conv2d_ref(
            x, w, s, demodulate=demodulate, padding=k // 2) * 1.7)]
        for g_fast, g_ref in zip(*grads):
            assert max_diff(g_fast.numpy(), g_ref.numpy()) < 1e-4 * max(1.0, float(g_ref.abs().max()))


def test_noise_bias_leaky_relu_with_the_gain_already_in_x():
    x, b, strength = paddle.randn([2, 4, 3, 5]), paddle.randn([4]), paddle.to_tensor([0.3])
    noise = paddle.randn([1, 1, 3, 5])
    want = noise_bias_leaky_relu(x, noise, strength, b, gain=1.4)
    got = noise_bias_leaky_relu(x * 1.4, noise, strength, b, gain=1.4, x_scaled=True)
    assert max_diff(got.numpy(), want.numpy()) < 1e-5
    with pytest.raises(AssertionError, match="positive gain"):
        noise_bias_leaky_relu(x, noise, strength, b, gain=-1.0, x_scaled=True)


@pytest.mark.parametrize("fused", [False, True])
def test_modulated_conv_up_twice_differentiable(fused):
    w = paddle.randn([6, 5, 3, 3])
    s = paddle.randn([2, 5])
    blur = FIRFilter([1, 3, 3, 1], (1, 1), gain=4)
    with double_backward():
        g = _double_backward(lambda t: modulated_conv2d(t, w, s, up=True, blur=blur, fused=fused) ** 2,
                             paddle.randn([2, 5, 4, 4]))
    assert float(g.abs().sum()) > 0


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_polyphase_transposed_conv_matches_conv2d_transpose(k):
    import paddle.nn.functional as F
    x = paddle.randn([2, 4, 5, 6])
    w = paddle.randn([3 * 2, 2, k, k])  # groups=2: 3 outputs per group, 2 inputs per group
    ref = F.conv2d_transpose(x, w.reshape([2, 3, 2, k, k]).transpose([0, 2, 1, 3, 4]).reshape([4, 3, k, k]),
                             stride=2, groups=2)
    out = conv_transpose2x_polyphase(x, w, groups=2)
    assert out.shape == ref.shape
    assert max_diff(out.numpy(), ref.numpy()) < 1e-4
    with paddle.no_grad():  # the dispatcher's inference path is conv2d_transpose itself
        fast = conv_transpose2x(x, w, groups=2)
    assert max_diff(fast.numpy(), ref.numpy()) < 1e-4


def test_transposed_conv_dispatch_twice_differentiable_inside_double_backward():
    x = paddle.randn([2, 3, 4, 4])
    w = paddle.randn([5, 3, 3, 3])
    w.stop_gradient = False
    with double_backward():
        g = _double_backward(lambda t: conv_transpose2x(t, w) ** 2, x)
    assert float(g.abs().sum()) > 0
    # outside: Paddle's conv2d_transpose (no double gradient on CPU), same first-order gradients
    grads = []
    for enabled in (True, False):
        xi = x.detach()
        xi.stop_gradient = False
        with double_backward(enabled):
            out = conv_transpose2x(xi, w)
        grads.append(paddle.grad((out * out).sum(), [xi, w]))
    for a, b in zip(*grads):
        assert max_diff(a.numpy(), b.numpy()) < 1e-3 * float(b.abs().max())
    xi = x.detach()
    xi.stop_gradient = False
    with pytest.raises(Exception):  # the reason the context exists: Paddle CPU cannot differentiate twice
        _double_backward(lambda t: conv_transpose2x(t, w) ** 2, xi)


@pytest.mark.parametrize("batch,group,feat", [(8, 4, 1), (4, 4, 2), (6, 4, 1), (3, 8, 1)])
def test_minibatch_stddev_against_numpy(batch, group, feat):
    x = np.random.RandomState(batch).standard_normal([batch, 4, 3, 3]).astype("float32")
    out = minibatch_stddev(paddle.to_tensor(x), group, feat).numpy()
    g = mbstd_group(batch, group)
    assert batch % g == 0 and g <= group
    m = batch // g
    y = x.reshape(g, m, feat, 4 // feat, 3, 3)
    std = np.sqrt(y.var(axis=0) + 1e-8).mean(axis=(2, 3, 4))  # [m, feat]
    for i in range(batch):
        assert np.allclose(out[i, 4:], std[i % m][:, None, None] * np.ones([feat, 3, 3]), atol=1e-5)
    assert np.array_equal(out[:, :4], x)
    _double_backward(lambda t: minibatch_stddev(t, group, feat) ** 2, paddle.to_tensor(x))


def test_equalized_layers_scale_and_lr_mul():
    lin = EqualLinear(16, 8, lr_mul=0.01, bias_init=0.5)
    x = paddle.randn([2, 16])
    want = x.numpy() @ (lin.weight.numpy() * 0.01 / 4) + lin.bias.numpy() * 0.01
    assert np.allclose(lin(x).numpy(), want, atol=1e-5)
    conv = EqualConv2D(4, 6, 3, padding=1)
    y = conv(paddle.randn([1, 4, 5, 5]))
    assert y.shape == [1, 6, 5, 5] and abs(conv.scale - 1 / 6) < 1e-9
