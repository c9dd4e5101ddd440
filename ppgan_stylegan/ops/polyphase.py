"""Stride-2 transposed convolution as ordinary convolutions (twice differentiable on Paddle CPU)."""
import paddle
import paddle.nn.functional as F


def conv_transpose2x_polyphase(x, weight, groups=1):
    """``conv2d_transpose(x, W, stride=2, padding=0, groups)`` without conv2d_transpose.

    ``weight`` uses the *conv* layout ``[G*O, I, k, k]`` (the transposed conv applies it
    unflipped). Output phase p (row or column parity) only sees taps ``a = p, p+2, ...``;
    all four 2-D phases come from one conv with ``4*O`` outputs per group, then are interleaved.
    """
    go, cin, k, _ = weight.shape
    out_c = go // groups
    n, _, h, w = x.shape
    nb = (k + 1) // 2  # taps per phase
    w_pad = F.pad(weight, [0, 1, 0, 1])  # index k reads as zero
    index = paddle.to_tensor([p + 2 * (nb - 1 - t) for p in (0, 1) for t in range(nb)], dtype="int64")
    w_ph = paddle.index_select(paddle.index_select(w_pad, index, axis=2), index, axis=3)
    w_ph = w_ph.reshape([groups, out_c, cin, 2, nb, 2, nb]).transpose([0, 3, 5, 1, 2, 4, 6])
    w_ph = w_ph.reshape([groups * 4 * out_c, cin, nb, nb])
    y = F.conv2d(x, w_ph, padding=nb - 1, groups=groups)  # [N, G*4*O, h+nb-1, w+nb-1]
    hh, ww = y.shape[2], y.shape[3]
    y = y.reshape([n, groups, 2, 2, out_c, hh, ww]).transpose([0, 1, 4, 5, 2, 6, 3])
    y = y.reshape([n, groups * out_c, 2 * hh, 2 * ww])
    size_h, size_w = 2 * (h - 1) + k, 2 * (w - 1) + k
    return y[:, :, :size_h, :size_w]
