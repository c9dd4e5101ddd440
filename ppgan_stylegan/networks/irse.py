"""IR-SE residual backbone (ArcFace's improved residual units with squeeze-excitation, Deng et al. 2019),
shared by the pSp encoder and the ArcFace identity loss. Key names follow pSp / PaddleGAN."""
import paddle.nn as nn
import paddle.nn.functional as F

from ..core.errors import ConfigError

STAGE_UNITS = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}
STAGE_WIDTHS = (64, 128, 256, 512)


class SqueezeExcite(nn.Layer):
    """Channel gating (Hu et al. 2018): x * sigmoid(W2 relu(W1 mean_hw(x)))."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2D(channels, hidden, 1, bias_attr=False)
        self.fc2 = nn.Conv2D(hidden, channels, 1, bias_attr=False)

    def forward(self, x):
        gate = F.sigmoid(self.fc2(F.relu(self.fc1(x.mean(axis=[2, 3], keepdim=True)))))
        return x * gate


class BottleneckIR(nn.Layer):
    """Improved residual unit: BN-conv3x3-PReLU-conv3x3(stride)-BN(-SE) plus a (projected) shortcut."""

    def __init__(self, in_channel, depth, stride, se=True):
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer = nn.MaxPool2D(1, stride)  # identity, subsampled
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2D(in_channel, depth, 1, stride, bias_attr=False),
                                                nn.BatchNorm2D(depth))
        layers = [nn.BatchNorm2D(in_channel), nn.Conv2D(in_channel, depth, 3, 1, 1, bias_attr=False),
                  nn.PReLU(depth), nn.Conv2D(depth, depth, 3, stride, 1, bias_attr=False), nn.BatchNorm2D(depth)]
        if se:
            layers.append(SqueezeExcite(depth, 16))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


def ir_backbone(num_layers=50, mode="ir_se", widths=None, units=None):
    """(units as a flat list, index of the last unit of each of the 4 stages). Each stage halves the size."""
    if mode not in ("ir", "ir_se"):
        raise ConfigError(f"encoder.mode: expected 'ir' or 'ir_se', got {mode!r}")
    if units is None:
        if num_layers not in STAGE_UNITS:
            raise ConfigError(f"encoder.num_layers: expected one of {sorted(STAGE_UNITS)} (or give units), "
                              f"got {num_layers!r}")
        units = STAGE_UNITS[num_layers]
    widths = tuple(widths or STAGE_WIDTHS)
    if len(units) != 4 or len(widths) != 4 or min(units) < 1:
        raise ConfigError(f"encoder: units and widths need 4 stages (units >= 1), got {units} / {widths}")
    blocks, ends, in_ch = [], [], widths[0]
    for n, depth in zip(units, widths):
        for i in range(n):
            blocks.append(BottleneckIR(in_ch if i == 0 else depth, depth, 2 if i == 0 else 1, se=mode == "ir_se"))
        in_ch = depth
        ends.append(len(blocks) - 1)
    return blocks, ends
