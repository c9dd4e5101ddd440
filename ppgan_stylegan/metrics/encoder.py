"""Errors of an encoder (pSp): reconstruction and latent mean squared errors, model and baseline."""
import numpy as np
import paddle
from ppgan.metrics.builder import METRICS

from ..core.distributed import all_sum
from ..core.errors import ConfigError

KINDS = ("image", "latent", "image_baseline", "latent_baseline")


@METRICS.register()
class EncoderError(paddle.metric.Metric):
    """Mean squared error over all elements of the pairs the model passes for ``kind``:

    ``image``: reconstruction vs target image; ``latent``: predicted vs true W+ (generator samples only);
    ``*_baseline``: the same with ``latent_avg`` as the prediction for every image (``image_baseline`` of a
    super-resolution dataset: its low-resolution inputs bicubic-upsampled, the task's own baseline).
    """

    def __init__(self, kind="image"):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"EncoderError.kind: expected one of {KINDS}, got {kind!r}")
        self.kind, self.last = kind, None
        self.reset()

    def reset(self):
        self.sum, self.count = 0.0, 0

    def update(self, preds, gts):
        diff = np.asarray(preds, dtype=np.float64) - np.asarray(gts, dtype=np.float64)
        self.sum += float((diff ** 2).sum())
        self.count += diff.size

    def accumulate(self):
        total, count = all_sum(paddle.to_tensor([self.sum, float(self.count)], dtype="float64")).numpy()
        self.last = float(total / count) if count else float("nan")
        self.reset()
        return self.last

    def name(self):
        return f"EncoderError({self.kind})"
