"""Small StyleGAN ops: pixel norm, minibatch standard deviation, noise injection, AdaIN (StyleGAN v1), nearest
up-sampling."""
import paddle
import paddle.nn as nn


def pixel_norm(x, eps=1e-8):
    """Normalise every feature vector to unit RMS along axis 1 (ProGAN eq. in section 4.2)."""
    return x * paddle.rsqrt(paddle.mean(x * x, axis=1, keepdim=True) + eps)


class PixelNorm(nn.Layer):
    def forward(self, x):
        return pixel_norm(x)


def mbstd_group(batch, group_size):
    """Largest group size <= ``group_size`` that divides ``batch`` (NVlabs needs an exact divisor)."""
    g = max(1, min(group_size, batch))
    while batch % g:
        g -= 1
    return g


def minibatch_stddev(x, group_size=4, num_features=1, eps=1e-8):
    """Append ``num_features`` channels holding the std-dev across groups of samples (ProGAN 3).

    Sample ``i`` is grouped with samples ``i + k * (N / G)`` (ppgan / rosinality layout).
    """
    n, c, h, w = x.shape
    assert c % num_features == 0, f"minibatch_stddev: {c} channels not divisible by {num_features} features"
    g = mbstd_group(n, group_size)
    y = x.reshape([g, -1, num_features, c // num_features, h, w])
    y = y - y.mean(axis=0, keepdim=True)
    y = paddle.sqrt((y * y).mean(axis=0) + eps)  # [N/G, F, C/F, H, W]
    y = y.mean(axis=[2, 3, 4]).reshape([-1, num_features, 1, 1])  # [N/G, F, 1, 1]
    y = y.tile([g, 1, h, w])
    return paddle.concat([x, y], axis=1)


class NoiseInjection(nn.Layer):
    """Per-layer learned noise strength: ``x + weight * noise`` or, for ``is_concat``,
    ``concat([x, weight * noise])`` (GPEN feeds encoder features through this slot)."""

    def __init__(self, is_concat=False):
        super().__init__()
        self.weight = self.create_parameter((1,), default_initializer=nn.initializer.Constant(0.0))
        self.is_concat = is_concat

    def channels(self, x):
        """Channels of the noise this layer expects for input ``x`` (1, or x's channels for ``is_concat``)."""
        return x.shape[1] if self.is_concat else 1

    def forward(self, x, noise):
        if self.is_concat:
            return paddle.concat([x, self.weight * noise], axis=1)
        return x + self.weight * noise


def instance_norm(x, eps=1e-8):
    """Reference: NVlabs' ``instance_norm``: centre each feature map, divide by its RMS (eps 1e-8)."""
    x = x - x.mean(axis=[2, 3], keepdim=True)
    return x * paddle.rsqrt((x * x).mean(axis=[2, 3], keepdim=True) + eps)


def style_mod_ref(x, style):
    """Reference: NVlabs' ``style_mod``: ``x * (ys + 1) + yb`` with ``style = [ys, yb]`` ``[N, 2C]``."""
    c = x.shape[1]
    return x * (style[:, :c] + 1).reshape([-1, c, 1, 1]) + style[:, c:].reshape([-1, c, 1, 1])


def adaptive_instance_norm(x, style, eps=1e-8):
    """AdaIN (StyleGAN paper, eq. 1): ``instance_norm(x) * (ys + 1) + yb``, x ``[N, C, H, W]``, style ``[N, 2C]``.

    Fast path of ``style_mod_ref(instance_norm(x), style)``: on ``[N, C, H*W]`` (Paddle's fast broadcast layout),
    the normalisation and the style scale multiplied into one ``[N, C, 1]`` factor (one pass, not two).
    """
    c = x.shape[1]
    assert style.shape[-1] == 2 * c, f"adaptive_instance_norm: x {x.shape}, style {style.shape} (expected [N, {2 * c}])"
    flat = x.reshape([-1, c, x.shape[2] * x.shape[3]])  # the batch may be unknown (static graphs)
    centred = flat - flat.mean(axis=-1, keepdim=True)
    scale = paddle.rsqrt((centred * centred).mean(axis=-1, keepdim=True) + eps) * (style[:, :c] + 1).unsqueeze(-1)
    return (centred * scale + style[:, c:].unsqueeze(-1)).reshape(x.shape)


def nearest_upsample(x, factor=2):
    """Nearest-neighbour up-sampling by an integer factor (NVlabs' ``upscale2d``): reshape + tile, so it is
    twice differentiable on every Paddle (the interpolate kernels are not, on CPU)."""
    if factor == 1:
        return x
    _, c, h, w = x.shape
    y = x.reshape([-1, c, h, 1, w, 1]).tile([1, 1, 1, factor, 1, factor])
    return y.reshape([-1, c, h * factor, w * factor])
