"""Perceptual feature networks whose weights the user supplies (nothing is downloaded).

* LPIPS (Zhang et al. 2018): ppgan's own ``LPIPS`` class (VGG16 trunk + learned linear heads, v0.1),
  built offline from a folder holding PaddleGAN's two files ``vgg16_official.pdparams`` and
  ``lins_0.1_vgg.pdparams`` (the files ppgan downloads to ``~/.cache/paddle``).
* Identity loss (pSp, Richardson et al. 2021, eq. 3): ``1 - <F(y), F(G(E(y)))>`` with F an ArcFace
  IR-SE-50 face embedding (``model_ir_se50`` converted to Paddle; key names as in pSp's ``Backbone``).
"""
import contextlib
import os

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .encoders.psp import STAGE_WIDTHS, ir_backbone
from .weights import UserError, check_fit, load_state, to_tensors

LPIPS_FILES = ("vgg16_official.pdparams", "lins_0.1_vgg.pdparams")


@contextlib.contextmanager
def _local_vgg_weights(path):
    """Make ppgan's PerceptualVGG read ``path`` instead of downloading its URL."""
    from ppgan.models.criterions import perceptual_loss
    original = perceptual_loss.get_path_from_url
    perceptual_loss.get_path_from_url = lambda url, *args, **kwargs: path
    try:
        yield
    finally:
        perceptual_loss.get_path_from_url = original


def load_lpips(weights_dir, option="--lpips-weights"):
    """ppgan's LPIPS (VGG, v0.1), frozen, from ``weights_dir``; a UserError names what is missing."""
    if not weights_dir or not os.path.isdir(weights_dir):
        raise UserError(f"{option} {weights_dir!r}: not a folder (it must hold {' and '.join(LPIPS_FILES)})")
    vgg_path, lins_path = (os.path.join(weights_dir, f) for f in LPIPS_FILES)
    for path in (vgg_path, lins_path):
        if not os.path.isfile(path):
            raise UserError(f"{option}: {path} is missing (LPIPS needs {' and '.join(LPIPS_FILES)}; "
                            "they are PaddleGAN's LPIPS downloads)")
    from ppgan.metrics.lpips import LPIPS
    try:
        with _local_vgg_weights(vgg_path):
            lpips = LPIPS(net="vgg", version="0.1", model_path=lins_path, verbose=False)
    except Exception as e:
        raise UserError(f"{option} {weights_dir!r}: LPIPS weights do not load ({type(e).__name__}: {str(e)[:120]})")
    lpips.eval()
    for p in lpips.parameters():
        p.stop_gradient = True
    return lpips


class ArcFaceBackbone(nn.Layer):
    """IR-SE face embedding: 112x112 face -> unit vector ``[N, 512]`` (pSp's ``Backbone``)."""

    def __init__(self, num_layers=50, mode="ir_se", input_size=112, widths=None, units=None, embed_dim=512,
                 drop_ratio=0.6):
        super().__init__()
        widths = tuple(widths or STAGE_WIDTHS)
        width0, width3 = widths[0], widths[3]
        blocks, _ = ir_backbone(num_layers, mode, widths, units)
        self.input_layer = nn.Sequential(nn.Conv2D(3, width0, 3, 1, 1, bias_attr=False), nn.BatchNorm2D(width0),
                                         nn.PReLU(width0))
        self.body = nn.Sequential(*blocks)
        side = input_size // 16
        self.output_layer = nn.Sequential(nn.BatchNorm2D(width3), nn.Dropout(drop_ratio), nn.Flatten(),
                                          nn.Linear(width3 * side * side, embed_dim), nn.BatchNorm1D(embed_dim))
        self.input_size = input_size

    def forward(self, x):
        assert x.shape[2:] == [self.input_size, self.input_size], \
            f"ArcFaceBackbone: expected {self.input_size}x{self.input_size} faces, got {x.shape}"
        return F.normalize(self.output_layer(self.body(self.input_layer(x))), axis=1)


class IDLoss(nn.Layer):
    """``mean(1 - cos(F(y_hat), F(y)))`` on the face crop pSp uses (rows 35:223, cols 32:220 of 256)."""

    def __init__(self, weights, **backbone_kwargs):
        super().__init__()
        self.net = ArcFaceBackbone(**backbone_kwargs)
        state = load_state(weights)
        check_fit(self.net, state, weights, ignore=(), what="the ArcFace IR-SE backbone of the ID loss")
        self.net.set_state_dict(to_tensors(state))
        self.net.eval()
        for p in self.net.parameters():
            p.stop_gradient = True

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
