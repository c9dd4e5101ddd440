"""GAN losses and penalties as small functions (NVlabs stylegan ``training/loss.py`` formulas).

All take discriminator scores (logits, ``[N, 1]``) and return a scalar (mean over the batch).
"""
import math
from typing import Callable, NamedTuple

import paddle
import paddle.nn.functional as F


# ----------------------------------------------------------------------------- generator losses
def g_nonsaturating(real_pred, fake_pred):
    """``log(1 + exp(-D(G(z))))`` (StyleGAN default)."""
    return F.softplus(-fake_pred).mean()


def g_saturating(real_pred, fake_pred):
    """``-log(1 + exp(D(G(z))))`` (the minimax original)."""
    return (-F.softplus(fake_pred)).mean()


def g_wgan(real_pred, fake_pred):
    """``-D(G(z))`` (WGAN, WGAN-GP, hinge)."""
    return (-fake_pred).mean()


def g_relativistic(real_pred, fake_pred):
    """RpGAN (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024, eq. 2): ``log(1 + exp(D(x) - D(G(z))))``, each
    fake paired with the real of the same batch position."""
    return F.softplus(real_pred - fake_pred).mean()


class GLoss(NamedTuple):
    """A generator loss by name: ``fn(real_pred, fake_pred)``; ``needs_real``: the model scores the reals too
    (otherwise ``real_pred`` is None)."""
    fn: Callable
    needs_real: bool = False


G_LOSSES = {
    "nonsaturating": GLoss(g_nonsaturating),
    "saturating": GLoss(g_saturating),
    "wgan": GLoss(g_wgan),
    "hinge": GLoss(g_wgan),
    "relativistic": GLoss(g_relativistic, needs_real=True),
}


# ----------------------------------------------------------------------------- discriminator losses
def d_logistic(real_pred, fake_pred):
    """``log(1 + exp(D(G(z)))) + log(1 + exp(-D(x)))``."""
    return (F.softplus(fake_pred) + F.softplus(-real_pred)).mean()


def d_wgan(real_pred, fake_pred, wgan_epsilon=0.001):
    """``D(G(z)) - D(x) + eps * D(x)^2`` (WGAN with the ProGAN drift term)."""
    return (fake_pred - real_pred + wgan_epsilon * real_pred * real_pred).mean()


def d_hinge(real_pred, fake_pred):
    """``max(0, 1 + D(G(z))) + max(0, 1 - D(x))``."""
    return (F.relu(1.0 + fake_pred) + F.relu(1.0 - real_pred)).mean()


def d_relativistic(real_pred, fake_pred):
    """RpGAN's discriminator side (R3GAN eq. 2): ``log(1 + exp(D(G(z)) - D(x)))`` over pairs; R3GAN adds R1 and R2
    (``r1_gamma``, ``r2_gamma``)."""
    return F.softplus(fake_pred - real_pred).mean()


class DLoss(NamedTuple):
    """A discriminator loss by name: the base loss, whether the WGAN-GP gradient penalty is added, and whether
    the base loss takes ``wgan_epsilon`` (the drift term)."""
    fn: Callable
    gradient_penalty: bool = False
    takes_epsilon: bool = False


D_LOSSES = {
    "logistic": DLoss(d_logistic),
    "wgan": DLoss(d_wgan, takes_epsilon=True),
    "wgan_gp": DLoss(d_wgan, gradient_penalty=True, takes_epsilon=True),
    "hinge": DLoss(d_hinge),
    "hinge_gp": DLoss(d_hinge, gradient_penalty=True),
    "relativistic": DLoss(d_relativistic),
}


# ----------------------------------------------------------------------------- penalties
def _input_grad(pred, inputs):
    (grad,) = paddle.grad(outputs=pred.sum(), inputs=inputs, create_graph=True)
    return grad


def r1_penalty(real_pred, real_img):
    """R1 (Mescheder et al. 2018, eq. 9): ``E ||grad_x D(x)||^2`` on reals (times gamma/2 by the caller)."""
    grad = _input_grad(real_pred, real_img)
    return (grad * grad).reshape([grad.shape[0], -1]).sum(1).mean()


def r2_penalty(fake_pred, fake_img):
    """R2: the same squared gradient norm, on generated images."""
    return r1_penalty(fake_pred, fake_img)


def gradient_penalty(disc, real_img, fake_img, target=1.0, weight=10.0, alpha=None):
    """WGAN-GP: ``weight / target^2 * (||grad D(x_hat)|| - target)^2`` at ``x_hat = lerp(x, G(z), alpha)``."""
    if alpha is None:
        alpha = paddle.rand([real_img.shape[0], 1, 1, 1], dtype=real_img.dtype)
    mixed = (real_img + (fake_img - real_img) * alpha).detach()
    mixed.stop_gradient = False
    grad = _input_grad(disc(mixed), mixed)
    norms = paddle.sqrt((grad * grad).reshape([grad.shape[0], -1]).sum(1))
    return ((norms - target) ** 2).mean() * (weight / target ** 2)


def path_lengths(fake_img, latents, pl_noise, create_graph=True):
    """``||J_w^T y||`` per image (the quantity of paper eq. 4)."""
    (grad,) = paddle.grad(outputs=(fake_img * pl_noise).sum(), inputs=latents, create_graph=create_graph)
    return paddle.sqrt((grad * grad).sum(2).mean(1))


def moved_path_mean(mean_path_length, batch_mean_length, decay):
    """The moving average ``a_mean`` of the path length after a batch whose mean length is ``batch_mean_length``."""
    return mean_path_length + decay * (batch_mean_length - mean_path_length)


def path_length_penalty(fake_img, latents, mean_path_length, decay=0.01, pl_noise=None, batch_mean=None,
                        global_mean=None):
    """StyleGAN2 path-length regulariser (paper eq. 4), with NVlabs' gradient.

    ``a = ||J_w^T y||`` with ``y ~ N(0, I) / sqrt(H W)``; penalty ``E (a - a_mean)^2`` against
    ``a_mean = lerp(old mean, E a, decay)``. As NVlabs' ``pl_mean.lerp(pl_lengths.mean(), pl_decay)``, the gradient
    flows through ``E a`` into ``a_mean`` too; only the stored copy is detached.

    A batch spread over ranks (``batch_mean``: this part's ``E a`` -> the global batch's, an all-reduce) or over
    micro-batches (``global_mean``: the whole batch's ``E a``, known beforehand) is one batch: every part is
    penalised against the same ``a_mean``, and ``d penalty / d a_mean`` of the whole batch, ``-2 (E a - a_mean)``,
    reaches each part's lengths through its own ``E a`` (the mean's share of each length is ``decay / N``), so the
    gradients summed over parts equal the one-batch gradient. With one part this is NVlabs' formula exactly.
    Returns ``(penalty, mean path length of the whole batch, new a_mean)``; the last two detached.
    On CPU, run the generator pass that made ``fake_img`` inside ``ops.double_backward()``: Paddle has no
    double gradient of ``conv2d_transpose`` there.
    """
    if pl_noise is None:
        pl_noise = paddle.randn(fake_img.shape, dtype=fake_img.dtype) / math.sqrt(fake_img.shape[2] * fake_img.shape[3])
    lengths = path_lengths(fake_img, latents, pl_noise)
    mean = lengths.mean()
    if global_mean is None:
        global_mean = batch_mean(mean.detach()) if batch_mean is not None else mean.detach()
    path_mean = moved_path_mean(mean_path_length, global_mean, decay).detach()
    # zero in value; its gradient is the one of a_mean's dependence on this part's lengths
    through_mean = -2.0 * (global_mean - path_mean) * decay * (mean - mean.detach())
    penalty = ((lengths - path_mean) ** 2).mean() + through_mean
    return penalty, global_mean, path_mean
