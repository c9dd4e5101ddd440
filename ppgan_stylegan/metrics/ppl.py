"""Perceptual path length (StyleGAN, Karras et al. 2019, section 3.2), in W."""
import numpy as np
import paddle

from ..core.errors import UserError


def perceptual_path_length(gen, num=1000, epsilon=1e-4, sampling="end", distance=None, batch=16, seed=0):
    """PPL in W (StyleGAN paper, eq. 3 in W): ``E[d(G(lerp(w0, w1, t)), G(lerp(w0, w1, t + eps))) / eps^2]``.

    ``sampling='end'``: t = 0; ``'full'``: t ~ U(0, 1). ``distance(a, b) -> [N]``: LPIPS when given, else the
    mean squared pixel difference (an offline stand-in: same protocol, not comparable to published PPL).
    Like NVlabs, the values outside the 1st-99th percentiles are dropped before averaging.
    """
    if sampling not in ("end", "full"):
        raise UserError(f"PPL sampling must be 'end' or 'full', got {sampling!r}")
    distance = distance or (lambda a, b: ((a - b) ** 2).mean(axis=[1, 2, 3]))
    rng = np.random.RandomState(seed)
    values = []
    with paddle.no_grad():
        for i in range(0, num, batch):
            n = min(batch, num - i)
            z = paddle.to_tensor(rng.standard_normal([2 * n, gen.style_dim]).astype("float32"))
            c = gen.random_labels(n) if getattr(gen, "c_dim", 0) else None  # (conditional: one class per path)
            w = gen.get_latent(z) if c is None else gen.get_latent(z, paddle.concat([c, c]))
            w0, w1 = w[:n], w[n:]
            t = paddle.to_tensor((np.zeros([n, 1]) if sampling == "end" else rng.uniform(0, 1, [n, 1])).astype("float32"))
            wa, wb = w0 + (w1 - w0) * t, w0 + (w1 - w0) * (t + epsilon)
            img, _ = gen([paddle.concat([wa, wb])], input_is_latent=True, noise="const")
            values.append((distance(img[:n], img[n:]) / epsilon ** 2).numpy().reshape(-1))
    values = np.concatenate(values).astype(np.float64)
    lo, hi = np.percentile(values, 1, method="lower"), np.percentile(values, 99, method="higher")
    return float(values[(values >= lo) & (values <= hi)].mean())
