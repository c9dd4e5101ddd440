"""The official pixel2style2pixel encoders, for the import tests: their state dicts in the official names and
PyTorch layouts with random weights, and their forward in NumPy, both written from the official definitions
(``models/encoders/helpers.py``, ``psp_encoders.py``, rosinality's ``EqualLinear``), independently of the package.

Widths may be smaller than the official 64 / 128 / 256 / 512 (the definitions are the same for any widths).
"""
from collections import OrderedDict

import numpy as np

UNITS_50 = (3, 4, 14, 3)


def _units(widths, units):
    """(in_channel, depth, stride) per bottleneck, as ``get_blocks``: each stage starts with a stride-2 unit."""
    out, in_c = [], widths[0]
    for n, depth in zip(units, widths):
        out += [(in_c, depth, 2)] + [(depth, depth, 1)] * (n - 1)
        in_c = depth
    return out


def official_encoder(kind, rng, input_nc=3, n_styles=6, style_dim=32, widths=(8, 16, 24, 32), units=(1, 1, 1, 1),
                     input_size=256):
    """{official key: float32 array} of an encoder of ``kind`` (the official ``encoder_type``), ir_se units."""
    sd = OrderedDict()

    def conv(key, o, i, k, bias=False):
        sd[f"{key}.weight"] = (rng.standard_normal([o, i, k, k]) * np.sqrt(2.0 / (i * k * k))).astype("float32")
        if bias:
            sd[f"{key}.bias"] = 0.1 * rng.standard_normal(o).astype("float32")

    def bn(key, c):
        sd[f"{key}.weight"] = (1 + 0.1 * rng.standard_normal(c)).astype("float32")
        sd[f"{key}.bias"] = (0.1 * rng.standard_normal(c)).astype("float32")
        sd[f"{key}.running_mean"] = (0.1 * rng.standard_normal(c)).astype("float32")
        sd[f"{key}.running_var"] = rng.uniform(0.5, 1.5, c).astype("float32")
        sd[f"{key}.num_batches_tracked"] = np.array(7, dtype=np.int64)

    def prelu(key, c):
        sd[f"{key}.weight"] = rng.uniform(0.1, 0.3, c).astype("float32")

    def dense(key, o, i, scale=1.0):  # [out, in]; EqualLinear's N(0, 1) (scaled at run time), nn.Linear's ~1/sqrt(in)
        sd[f"{key}.weight"] = (scale * rng.standard_normal([o, i])).astype("float32")
        sd[f"{key}.bias"] = (0.1 * rng.standard_normal(o)).astype("float32")

    conv("input_layer.0", widths[0], input_nc, 3)
    bn("input_layer.1", widths[0])
    prelu("input_layer.2", widths[0])
    for j, (in_c, depth, _) in enumerate(_units(widths, units)):
        p = f"body.{j}"
        if in_c != depth:
            conv(f"{p}.shortcut_layer.0", depth, in_c, 1)
            bn(f"{p}.shortcut_layer.1", depth)
        bn(f"{p}.res_layer.0", in_c)
        conv(f"{p}.res_layer.1", depth, in_c, 3)
        prelu(f"{p}.res_layer.2", depth)
        conv(f"{p}.res_layer.3", depth, depth, 3)
        bn(f"{p}.res_layer.4", depth)
        conv(f"{p}.res_layer.5.fc1", depth // 16 or 1, depth, 1)
        conv(f"{p}.res_layer.5.fc2", depth, depth // 16 or 1, 1)
    top = widths[3]
    if kind == "GradualStyleEncoder":
        for i in range(n_styles):
            spatial = input_size // (16 if i < 3 else 8 if i < 7 else 4)
            for c in range(int(np.log2(spatial))):
                conv(f"styles.{i}.convs.{2 * c}", style_dim, top if c == 0 else style_dim, 3, bias=True)
            dense(f"styles.{i}.linear", style_dim, style_dim)
        conv("latlayer1", top, widths[2], 1, bias=True)
        conv("latlayer2", top, widths[1], 1, bias=True)
    elif kind == "BackboneEncoderUsingLastLayerIntoW":
        dense("linear", style_dim, top)
    else:
        bn("output_layer_2.0", top)
        dense("output_layer_2.3", style_dim, top * 49, scale=1 / np.sqrt(top * 49))
        dense("linear", style_dim * n_styles, style_dim)
    return sd


# ----------------------------------------------------------------------------------------------- forward in NumPy
def conv2d(x, w, b=None, stride=1, pad=0):
    x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return out if b is None else out + b[None, :, None, None]


def batch_norm(x, sd, key, eps=1e-5):
    scale = sd[f"{key}.weight"] / np.sqrt(sd[f"{key}.running_var"] + eps)
    return (x - sd[f"{key}.running_mean"][None, :, None, None]) * scale[None, :, None, None] + \
        sd[f"{key}.bias"][None, :, None, None]


def prelu(x, a):
    return np.where(x > 0, x, a[None, :, None, None] * x)


def leaky(x, slope=0.01):  # torch.nn.LeakyReLU()
    return np.where(x > 0, x, slope * x)


def equal_linear(x, sd, key):  # rosinality's EqualLinear, lr_mul 1
    w = sd[f"{key}.weight"]
    return x @ (w / np.sqrt(w.shape[1])).T + sd[f"{key}.bias"]


def bottleneck(x, sd, p, in_c, depth, stride):
    if in_c == depth:
        shortcut = x[:, :, ::stride, ::stride]  # MaxPool2d(1, stride)
    else:
        shortcut = batch_norm(conv2d(x, sd[f"{p}.shortcut_layer.0.weight"], stride=stride), sd,
                              f"{p}.shortcut_layer.1")
    r = batch_norm(x, sd, f"{p}.res_layer.0")
    r = prelu(conv2d(r, sd[f"{p}.res_layer.1.weight"], pad=1), sd[f"{p}.res_layer.2.weight"])
    r = batch_norm(conv2d(r, sd[f"{p}.res_layer.3.weight"], stride=stride, pad=1), sd, f"{p}.res_layer.4")
    gate = np.maximum(conv2d(r.mean(axis=(2, 3), keepdims=True), sd[f"{p}.res_layer.5.fc1.weight"]), 0)
    gate = 1 / (1 + np.exp(-conv2d(gate, sd[f"{p}.res_layer.5.fc2.weight"])))
    return r * gate + shortcut


def upsample_bilinear_aligned(x, size):
    """F.interpolate(x, size, mode='bilinear', align_corners=True)."""
    def axis_weights(n_in, n_out):
        pos = np.arange(n_out) * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        m = np.zeros([n_out, n_in])
        m[np.arange(n_out), lo] += 1 - (pos - lo)
        m[np.arange(n_out), hi] += pos - lo
        return m
    rows, cols = axis_weights(x.shape[2], size[0]), axis_weights(x.shape[3], size[1])
    return np.einsum("ih,nchw,jw->ncij", rows, x, cols)


def adaptive_avg_pool(x, out):
    n, c, h, w = x.shape
    res = np.zeros([n, c, out, out])
    for i in range(out):
        for j in range(out):
            r0, r1 = (i * h) // out, -(-((i + 1) * h) // out)
            c0, c1 = (j * w) // out, -(-((j + 1) * w) // out)
            res[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return res


def encoder_forward(kind, sd, x, n_styles, widths=(8, 16, 24, 32), units=(1, 1, 1, 1)):
    """The official forward of an encoder (codes before latent_avg): ``[N, n_styles, D]`` or ``[N, D]`` (IntoW)."""
    x = x.astype(np.float64)
    sd = {k: v.astype(np.float64) for k, v in sd.items()}
    x = prelu(batch_norm(conv2d(x, sd["input_layer.0.weight"], pad=1), sd, "input_layer.1"),
              sd["input_layer.2.weight"])
    feats = []
    for j, (in_c, depth, stride) in enumerate(_units(widths, units)):
        x = bottleneck(x, sd, f"body.{j}", in_c, depth, stride)
        feats.append(x)
    ends = np.cumsum(units) - 1
    if kind == "BackboneEncoderUsingLastLayerIntoW":
        return equal_linear(x.mean(axis=(2, 3)), sd, "linear")
    if kind == "BackboneEncoderUsingLastLayerIntoWPlus":
        h = adaptive_avg_pool(batch_norm(x, sd, "output_layer_2.0"), 7).reshape(x.shape[0], -1)
        h = h @ sd["output_layer_2.3.weight"].T + sd["output_layer_2.3.bias"]
        return equal_linear(h, sd, "linear").reshape(x.shape[0], n_styles, -1)
    c1, c2, c3 = feats[ends[1]], feats[ends[2]], feats[ends[3]]
    p2 = upsample_bilinear_aligned(c3, c2.shape[2:]) + conv2d(c2, sd["latlayer1.weight"], sd["latlayer1.bias"])
    p1 = upsample_bilinear_aligned(p2, c1.shape[2:]) + conv2d(c1, sd["latlayer2.weight"], sd["latlayer2.bias"])
    codes = []
    for i in range(n_styles):
        h = c3 if i < 3 else p2 if i < 7 else p1
        c = 0
        while f"styles.{i}.convs.{2 * c}.weight" in sd:
            h = leaky(conv2d(h, sd[f"styles.{i}.convs.{2 * c}.weight"], sd[f"styles.{i}.convs.{2 * c}.bias"], 2, 1))
            c += 1
        codes.append(equal_linear(h.reshape(h.shape[0], -1), sd, f"styles.{i}.linear"))
    return np.stack(codes, axis=1)
