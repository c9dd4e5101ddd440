"""Quality metrics of a generator against a folder of real images: FID, KID, PPL, SWD (JSON + one line each).

FID / KID use ppgan's InceptionV3 with user-supplied weights (nothing is downloaded); a cache keeps the
real set's features (recomputed when the images, the weights or the layer change). PPL uses LPIPS with
LPIPS weights, else the pixel MSE (an offline stand-in, not comparable to published PPL). What each metric needs
and how it is computed comes from ``metrics.table`` (the same rows ppgan's METRICS classes use in training).
"""
import numpy as np
from tqdm import tqdm

from ..core.errors import UserError
from ..core.files import write_json
from ..core.images import list_images
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


class MetricsRunner(GeneratorPredictor):
    """The metrics of one generator; ``run`` returns ``{name: value}`` and writes ``metrics.json``."""

    def fakes(self, num, psi=1.0, batch=64):
        """``num`` images of seeds 0..num-1, ``[num, C, H, W]`` in [-1, 1]."""
        chunks = [list(range(i, min(i + batch, num))) for i in range(0, num, batch)]
        return np.concatenate([self.synthesize(self.w_from_seeds(seeds, psi)).numpy()
                               for seeds in tqdm(chunks, desc="generating", unit="batch")])

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

    def _collect(self, rows, real, num, psi, inception, lpips_weights):
        """What the wanted rows need: reals (at most ``num``), fakes of seeds 0..num-1, their Inception features,
        the generator and the PPL distance. The networks load first: a bad file fails before any work."""
        needs_inception = any(m.needs_inception for m in rows)
        model = load_inception(inception["weights"], inception["dims"], "--inception-weights") \
            if needs_inception else None
        distance = lpips_distance(lpips_weights) if lpips_weights else None
        reals = list_images(real)[:num] if real else []
        if real and not reals:
            raise UserError(f"--real {real}: no images")
        fakes = self.fakes(num, psi) if any(m.needs_reals for m in rows) else None
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
            cache=None, lpips_weights=None, ppl_num=1000):
        rows = self._check(wanted, real)
        inception = dict(weights=inception_weights, dims=dims, input_size=input_size, cache=cache)
        collected = self._collect(rows, real, num, psi, inception, lpips_weights)
        options = {"ppl": {"num": ppl_num}}
        results = {row.key(collected): row.compute(collected, **options.get(row.name, {})) for row in rows}
        write_json(results, self.path("metrics.json"), indent=1)
        return results
