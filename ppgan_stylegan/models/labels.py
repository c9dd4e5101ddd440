"""The labels of a class-conditional run (``c_dim`` > 0 on both networks).

Reals carry their dataset labels (``data.sources``: class indices or float vectors), given to the networks as
NVlabs' ``c`` ``[N, c_dim]`` (indices one-hot). Generated images take the labels of random training images, as
stylegan2-ada-pytorch's training loop draws them, so the generated classes follow the data's class balance.
"""
import numpy as np
import paddle

from ..core.distributed import rand_local
from ..core.errors import ConfigError


def as_c(labels, c_dim, where):
    """Class indices ``[N]`` or vectors ``[N, c_dim]`` (array or tensor) -> float32 ``c`` ``[N, c_dim]`` (a tensor)."""
    labels = labels if isinstance(labels, paddle.Tensor) else paddle.to_tensor(np.asarray(labels))
    if labels.ndim == 1 and "int" in str(labels.dtype):
        return paddle.nn.functional.one_hot(labels.astype("int64"), c_dim).astype("float32")
    if labels.ndim != 2 or labels.shape[1] != c_dim:
        raise ConfigError(f"{where}: labels of shape {list(labels.shape)} do not fit c_dim {c_dim} (expected class "
                          f"indices or vectors of {c_dim} values)")
    return labels.astype("float32")


class TrainingLabels:
    """The reals' ``c`` and the draw of generated images' labels; inactive (every ``c`` None) when ``c_dim`` is 0."""

    def __init__(self, c_dim, allow_unused=False):
        """``allow_unused`` (``model.allow_unused_classes``): a ``c_dim`` above the data's class count is meant
        (classes added later); else it is refused."""
        self.c_dim, self.pool, self.allow_unused = int(c_dim), None, bool(allow_unused)

    def set_pool(self, labels, where="dataset"):
        """The training set's labels, which generated labels are drawn from."""
        if not self.c_dim:
            return
        if labels is None or len(labels) == 0:
            raise ConfigError(f"model.generator.c_dim is {self.c_dim} but {where} has no labels (a dataset.json, or "
                              "dataset.train.labels: folders)")
        labels = np.asarray(labels)
        if labels.ndim == 1 and (labels.min() < 0 or labels.max() >= self.c_dim):
            raise ConfigError(f"{where}: classes {int(labels.min())}..{int(labels.max())} do not fit "
                              f"model.generator.c_dim {self.c_dim}")
        if labels.ndim == 1 and labels.max() + 1 < self.c_dim and not self.allow_unused:
            raise ConfigError(f"model.generator.c_dim is {self.c_dim} but {where} has {int(labels.max()) + 1} classes "
                              f"(0..{int(labels.max())}): set c_dim (and the discriminator's) to "
                              f"{int(labels.max()) + 1}, or model.allow_unused_classes: true to keep the unused ones")
        self.pool = as_c(labels, self.c_dim, where)

    def of_batch(self, labels):
        """The reals' ``c`` from a loader batch's ``label`` (None for an unconditional run)."""
        if not self.c_dim:
            return None
        if labels is None:
            raise ConfigError(f"model.generator.c_dim is {self.c_dim} but the training batches carry no labels")
        return as_c(labels, self.c_dim, "dataset.train")

    def draw(self, batch):
        """``c`` of ``batch`` generated images: the labels of uniformly drawn training images (this rank's share)."""
        if not self.c_dim:
            return None
        if self.pool is None:
            raise ConfigError("conditional training: the training set's labels were not given (set_label_pool)")
        index = paddle.floor(rand_local([batch]) * self.pool.shape[0]).astype("int64")
        return paddle.gather(self.pool, paddle.clip(index, 0, self.pool.shape[0] - 1))
