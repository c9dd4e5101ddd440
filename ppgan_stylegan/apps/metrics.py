"""Quality metrics of a generator against a folder of real images: FID, KID, PPL, SWD (JSON + one line each).

FID / KID use ppgan's InceptionV3 with user-supplied weights (nothing is downloaded); a cache keeps the
real set's features (recomputed when the images, the weights or the layer change). PPL uses LPIPS with
LPIPS weights, else the pixel MSE (an offline stand-in, not comparable to published PPL). What each metric needs
and how it is computed comes from ``metrics.table`` (the same rows ppgan's METRICS classes use in training).
"""
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from ..core.errors import UserError
from ..core.files import write_json
from ..core.images import list_images
from ..data.sources import FolderSource, read_labels
from ..metrics import METRIC_TABLE, Collected, missing_inputs
from ..metrics.inception import cached_real_features, inception_features, load_inception
from ..networks.perceptual import lpips_distance
from .base import GeneratorPredictor

KNOWN = tuple(sorted(METRIC_TABLE))


def default_metrics(real=None, inception_weights=None):
    """What can be computed without downloading anything: ([names], {skipped name: why})."""
    wanted, skipped = [], {}
    for name, metric in sorted(METRIC_TABLE.items()):
        why = missing_inputs(metric, bool(real), bool(inception_weights))
        if why:
            skipped[name] = why
        else:
            wanted.append(name)
    return wanted, skipped


def real_classes(real, mode="auto"):
    """Class indices of the images under ``real`` (``list_images`` order) from its ``dataset.json`` (``auto``) or
    its sub-folders (``folders``), or None."""
    labels, _ = read_labels(FolderSource(real), mode, real)
    if labels is not None and labels.ndim != 1:
        raise UserError(f"--real {real}: label vectors; per-class metrics need class indices")
    return labels


def spread(items, num):
    """At most ``num`` of ``items``, evenly spaced over them (not the first ``num``: sorted folders of classes)."""
    if len(items) <= num:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, num).round()]


class Split(NamedTuple):
    """A comparison: the reals, the classes of the fakes (None: unconditional) and the results' key suffix."""
    suffix: str
    reals: list
    fake_classes: object


class MetricsRunner(GeneratorPredictor):
    """The metrics of one generator; ``run`` returns ``{name: value}`` and writes ``metrics.json``.

    A class-conditional generator: with ``--class K`` class K's images against class K's reals (all reals when the
    real set has no labels); else images whose classes are drawn from the real set's labels (uniform without
    them) against all reals, and with ``per_class`` each class against its own reals (``<metric>_class<K>``)."""

    needs_class = False

    def fakes(self, num, psi=1.0, classes=None, batch=64):
        """``num`` images of seeds 0..num-1 (of ``classes[i]`` each, conditional), ``[num, C, H, W]`` in [-1, 1]."""
        chunks = [list(range(i, min(i + batch, num))) for i in range(0, num, batch)]
        return np.concatenate([self.synthesize(self.w_from_seeds(
            seeds, psi, classes=None if classes is None else [int(classes[i]) for i in seeds])).numpy()
            for seeds in tqdm(chunks, desc="generating", unit="batch")])

    def splits(self, reals, classes, num, per_class):
        """The comparisons to compute (``Split``), from the reals' ``classes`` (None: no labels)."""
        c_dim = getattr(self.generator, "c_dim", 0)
        if per_class and (not c_dim or classes is None):
            raise UserError("--per-class needs a class-conditional generator and labels for --real (a dataset.json,"
                            " or --real-labels folders)")
        if not c_dim:
            return [Split("", reals, None)]
        of = (lambda k: [p for p, c in zip(reals, classes) if c == k]) if classes is not None else (lambda k: reals)
        if self.label is not None:
            return [Split("", of(self.label), [self.label] * num)]
        rng = np.random.RandomState(0)  # (NVlabs: the labels of random real images)
        drawn = rng.choice(classes, num) if classes is not None else rng.randint(0, c_dim, num)
        return [Split("", reals, drawn)] + ([Split(f"_class{k}", of(k), [k] * num) for k in range(c_dim)]
                                            if per_class else [])

    def _check(self, wanted, real):
        """The table's rows of ``wanted`` (an unknown name, or reals missing for a metric that needs them: one line;
        missing Inception weights are named when the network is loaded)."""
        unknown = [m for m in wanted if m not in METRIC_TABLE]
        if unknown:
            raise UserError(f"--metrics: unknown {unknown} (expected {', '.join(KNOWN)})")
        rows = [METRIC_TABLE[name] for name in wanted]
        needing = [m.name for m in rows if m.needs_reals]
        if needing and not real:
            raise UserError(f"--real: a folder of real images is needed for {' / '.join(needing)}")
        return rows

    @staticmethod
    def _networks(rows, inception, lpips_weights):
        """(Inception or None, the PPL distance or None) the wanted rows need, loaded once, before any work (a bad
        file fails first)."""
        model = load_inception(inception["weights"], inception["dims"], "--inception-weights") \
            if any(m.needs_inception for m in rows) else None
        return model, lpips_distance(lpips_weights) if lpips_weights else None

    def _collect(self, rows, split, num, psi, inception, networks):
        """What the wanted rows need: the split's reals (at most ``num``, ``spread``), fakes of seeds 0..num-1,
        their Inception features, the generator and the PPL distance (``networks``: ``_networks``)."""
        (model, distance), needs_inception = networks, any(m.needs_inception for m in rows)
        reals = spread(split.reals, num)
        fakes = self.fakes(num, psi, split.fake_classes) if any(m.needs_reals for m in rows) else None
        real_features = fake_features = None
        if needs_inception:
            real_features = cached_real_features(reals, model, inception["weights"], inception["dims"],
                                                 inception["input_size"], inception["cache"],
                                                 load=lambda path: self.load_image(path)[0].numpy())
            fake_features = inception_features(model, fakes, inception["input_size"])
        real_images = np.stack([self.load_image(path)[0].numpy() for path in reals]) \
            if any(m.name == "swd" for m in rows) else None
        return Collected(real_features=real_features, fake_features=fake_features, reals=real_images, fakes=fakes,
                         generator=self.generator, distance=distance)

    def run(self, wanted, *, real=None, num=10000, psi=1.0, inception_weights=None, dims=2048, input_size=299,
            cache=None, lpips_weights=None, ppl_num=1000, per_class=False, real_labels="auto"):
        rows = self._check(wanted, real)
        reals = list_images(real) if real else []
        if real and not reals:
            raise UserError(f"--real {real}: no images")
        conditional = real and getattr(self.generator, "c_dim", 0)
        splits = self.splits(reals, real_classes(real, real_labels) if conditional else None, num, per_class)
        options, results = {"ppl": {"num": ppl_num}}, {}
        networks = self._networks(rows, dict(weights=inception_weights, dims=dims), lpips_weights)
        for split in splits:  # (a class's split: the metrics that compare with reals; its own real features)
            split_rows = rows if not split.suffix else [row for row in rows if row.needs_reals]
            inception = dict(weights=inception_weights, dims=dims, input_size=input_size,
                             cache=None if split.suffix else cache)
            collected = self._collect(split_rows, split, num, psi, inception, networks)
            results.update({row.key(collected) + split.suffix: row.compute(collected, **options.get(row.name, {}))
                            for row in split_rows})
        write_json(results, self.path("metrics.json"), indent=1)
        return results
