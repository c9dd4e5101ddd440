"""Sliced Wasserstein distance (ProGAN, Karras et al. 2018, section 5) - needs no pretrained network.

Each image set is decomposed into a Laplacian pyramid (16 px and up); from every level 128 random 7x7
neighbourhoods per image are sampled, at positions drawn independently for each set (as ProGAN's
``metrics/sliced_wasserstein.py`` does), each set's descriptors normalised per channel, and the sliced
Wasserstein distance between the two descriptor sets estimated with 4 x 128 random unit projections.
Reported x1e3 as in ProGAN: per level and their mean. Like ProGAN's, it is blind to a global brightness
offset (each set's descriptors are normalised separately); it measures local structure. Two sets of the
same images are not at 0 but at the estimator's noise floor (about 10 for 256 images at 32 px).

``paired=True`` is our named variant, not ProGAN's: both sets are sampled at the same positions, so
identical sets give 0 and small differences are measured with less noise. Its values are lower than
ProGAN's SWD and must not be compared with published numbers.
"""
import numpy as np
import paddle
from scipy import ndimage


GAUSS_1D = np.array([1, 4, 6, 4, 1], dtype=np.float64) / 16.0
GAUSS_2D = np.outer(GAUSS_1D, GAUSS_1D)[None, None]


def _blur(x, kernel):
    return ndimage.convolve(x, kernel, mode="mirror")


def pyr_down(x):
    return _blur(x, GAUSS_2D)[:, :, ::2, ::2]


def pyr_up(x):
    n, c, h, w = x.shape
    up = np.zeros([n, c, h * 2, w * 2], dtype=x.dtype)
    up[:, :, ::2, ::2] = x
    return _blur(up, GAUSS_2D * 4.0)


def laplacian_pyramid(x, levels):
    """List of ``levels`` arrays: band-pass levels from fine to coarse, then the low-pass residual."""
    pyramid, current = [], x
    for _ in range(levels - 1):
        down = pyr_down(current)
        pyramid.append(current - pyr_up(down))
        current = down
    pyramid.append(current)
    return pyramid


def sample_descriptors(level, patch_size, per_image, rng):
    """``per_image`` random ``patch_size``^2 neighbourhoods per image -> ``[N * per_image, C, p, p]``."""
    n, c, h, w = level.shape
    ys = rng.randint(0, h - patch_size + 1, size=(n, per_image))
    xs = rng.randint(0, w - patch_size + 1, size=(n, per_image))
    offs = np.arange(patch_size)
    rows = (ys[..., None] + offs)[..., :, None]  # [n, k, p, 1]
    cols = (xs[..., None] + offs)[..., None, :]  # [n, k, 1, p]
    img = np.arange(n)[:, None, None, None]
    patches = level.transpose(0, 2, 3, 1)[img, rows, cols]  # [n, k, p, p, C]
    return patches.reshape(n * per_image, patch_size, patch_size, c).transpose(0, 3, 1, 2)


def normalize_descriptors(desc):
    desc = desc - desc.mean(axis=(0, 2, 3), keepdims=True)
    desc = desc / (desc.std(axis=(0, 2, 3), keepdims=True) + 1e-8)
    return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a, b, dir_repeats, dirs_per_repeat, rng):
    """Mean over random unit directions of ``mean |sort(a @ d) - sort(b @ d)|``."""
    values = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs /= np.sqrt((dirs * dirs).sum(axis=0, keepdims=True))
        pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
        values.append(np.abs(pa - pb).mean())
    return float(np.mean(values))


def as_numpy(images):
    if isinstance(images, paddle.Tensor):
        images = images.numpy()
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"SWD: expected images [N, C, H, W], got shape {images.shape}")
    return images


def swd(real, fake, min_res=16, patch_size=7, patches_per_image=128, dir_repeats=4, dirs_per_repeat=128, seed=0,
        paired=False):
    """SWD x1e3 between two image sets ``[N, C, H, W]`` (same N; any value range, e.g. [-1, 1]).

    ``paired=False`` is ProGAN's definition (independent patch positions per set); ``paired=True`` samples
    both sets at the same positions (our low-noise variant). Returns ``{'levels': [per pyramid level,
    finest first], 'mean': float}``.
    """
    real, fake = as_numpy(real), as_numpy(fake)
    n = min(len(real), len(fake))
    real, fake = real[:n], fake[:n]
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"SWD: image shapes differ: {real.shape[1:]} vs {fake.shape[1:]}")
    res = min(real.shape[2:])  # (non-square images: the short side sets the pyramid's depth)
    levels = max(1, int(np.log2(res)) - int(np.log2(min_res)) + 1)
    rng = np.random.RandomState(seed)
    distances = []
    for lr, lf in zip(laplacian_pyramid(real, levels), laplacian_pyramid(fake, levels)):
        state = rng.get_state()
        dr = normalize_descriptors(sample_descriptors(lr, patch_size, patches_per_image, rng))
        if paired:
            rng.set_state(state)  # the same neighbourhood positions in both sets
        df = normalize_descriptors(sample_descriptors(lf, patch_size, patches_per_image, rng))
        distances.append(sliced_wasserstein(dr, df, dir_repeats, dirs_per_repeat, rng) * 1e3)
    return {"levels": distances, "mean": float(np.mean(distances))}
