"""Perceptual feature networks whose weights the user supplies (nothing is downloaded).

* LPIPS (Zhang et al. 2018): ppgan's own ``LPIPS`` class (VGG16 trunk + learned linear heads, v0.1),
  built offline from a folder holding PaddleGAN's two files ``vgg16_official.pdparams`` and
  ``lins_0.1_vgg.pdparams`` (the files ppgan downloads to ``~/.cache/paddle``).
* ArcFace IR-SE-50 face embedding (``model_ir_se50`` converted to Paddle; key names as in pSp's ``Backbone``),
  the F of the identity loss (``ppgan_stylegan.losses.perceptual.IDLoss``).
"""
import contextlib
import os

import paddle.nn as nn
import paddle.nn.functional as F
from ppgan.metrics.lpips import LPIPS
from ppgan.models.criterions import perceptual_loss

from ..core.errors import UserError
from ..core.images import three_channels
from ..core.nets import freeze
from ..core.state import paddle_load_is_ours
from .irse import STAGE_WIDTHS, ir_backbone

LPIPS_FILES = ("vgg16_official.pdparams", "lins_0.1_vgg.pdparams")


@contextlib.contextmanager
def _local_vgg_weights(path):
    """Make ppgan's PerceptualVGG read ``path`` instead of downloading its URL."""
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
    try:
        with _local_vgg_weights(vgg_path), paddle_load_is_ours():  # ppgan reads both files with paddle.load
            lpips = LPIPS(net="vgg", version="0.1", model_path=lins_path, verbose=False)
    except UserError:
        raise
    except Exception as e:
        raise UserError(f"{option} {weights_dir!r}: LPIPS weights do not load ({type(e).__name__}: {str(e)[:120]})")
    return freeze(ThreeChannels(lpips))


class ThreeChannels(nn.Layer):
    """A distance network that takes RGB, given images of any channels (``core.images.three_channels``)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, a, b):
        return self.net(three_channels(a), three_channels(b))


def lpips_distance(weights_dir, option="--lpips-weights"):
    """A per-sample LPIPS distance ``(a, b) -> [N]`` from ``weights_dir`` (what PPL needs)."""
    lpips = load_lpips(weights_dir, option)
    return lambda a, b: lpips(a, b).reshape([-1])


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
