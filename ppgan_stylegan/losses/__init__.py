"""Losses: GAN losses and penalties (``gan``) and perceptual networks with user-supplied weights (``perceptual``)."""
from .gan import (D_LOSSES, G_LOSSES, DLoss, GLoss, d_hinge, d_logistic, d_relativistic, d_wgan, g_nonsaturating,
                  g_relativistic, g_saturating, g_wgan, gradient_penalty, moved_path_mean, path_length_penalty,
                  path_lengths, r1_penalty, r2_penalty)

__all__ = ["D_LOSSES", "G_LOSSES", "DLoss", "GLoss", "d_hinge", "d_logistic", "d_relativistic", "d_wgan",
           "g_nonsaturating", "g_relativistic", "g_saturating", "g_wgan", "gradient_penalty", "moved_path_mean",
           "path_length_penalty", "path_lengths", "r1_penalty", "r2_penalty"]
