"""Losses: GAN losses and penalties (``gan``) and perceptual networks with user-supplied weights (``perceptual``)."""
from .gan import (D_LOSSES, G_LOSSES, DLoss, d_hinge, d_logistic, d_wgan, g_nonsaturating, g_saturating, g_wgan,
                  gradient_penalty, path_length_penalty, r1_penalty, r2_penalty)

__all__ = ["D_LOSSES", "G_LOSSES", "DLoss", "d_hinge", "d_logistic", "d_wgan", "g_nonsaturating", "g_saturating",
           "g_wgan", "gradient_penalty", "path_length_penalty", "r1_penalty", "r2_penalty"]
