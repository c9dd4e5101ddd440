"""Identity loss (pSp, Richardson et al. 2021, eq. 3): ``1 - <F(y), F(G(E(y)))>`` with F the ArcFace IR-SE
face embedding (``ppgan_stylegan.networks.perceptual.ArcFaceBackbone``) from user-supplied weights."""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..core.nets import freeze
from ..core.state import load_into, load_state
from ..networks.perceptual import ArcFaceBackbone


class IDLoss(nn.Layer):
    """``mean(1 - cos(F(y_hat), F(y)))`` on the face crop pSp uses (rows 35:223, cols 32:220 of 256)."""

    def __init__(self, weights, **backbone_kwargs):
        super().__init__()
        self.net = ArcFaceBackbone(**backbone_kwargs)
        load_into(self.net, load_state(weights), weights, ignore=(), what="the ArcFace IR-SE backbone of the ID loss")
        freeze(self.net)

    def embed(self, images):
        size = images.shape[2]
        top, bottom, left, right = (int(round(v * size / 256)) for v in (35, 223, 32, 220))
        face = images[:, :, top:bottom, left:right]
        face = F.adaptive_avg_pool2d(face, self.net.input_size)
        return self.net(face)

    def forward(self, y_hat, y):
        with paddle.no_grad():
            target = self.embed(y)
        return (1.0 - (self.embed(y_hat) * target).sum(axis=1)).mean()
