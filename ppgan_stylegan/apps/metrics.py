"""Quality metrics of a generator against a folder of real images: FID, KID, PPL, SWD (JSON + one line each).

FID / KID use ppgan's InceptionV3 with user-supplied weights (nothing is downloaded); a cache keeps the
real set's features (recomputed when the images, the weights or the layer change). PPL uses LPIPS with
LPIPS weights, else the pixel MSE (an offline stand-in, not comparable to published PPL).
"""
import numpy as np
from tqdm import tqdm

from ..core.errors import UserError
from ..core.files import write_json
from ..core.images import list_images
from ..metrics import fid_from_features, kid_from_features, perceptual_path_length, swd
from ..metrics.inception import cached_real_features, inception_features, load_inception
from ..networks.perceptual import lpips_distance
from .base import GeneratorPredictor

KNOWN = ("fid", "kid", "ppl", "swd")


def default_metrics(real=None, inception_weights=None):
    """What can be computed without downloading anything: ([names], {skipped name: why})."""
    wanted, skipped = ["ppl"], {}
    for name in ("fid", "kid"):
        if not inception_weights:
            skipped[name] = "needs --inception-weights (ppgan's InceptionV3.pdparams; nothing is downloaded)"
        elif not real:
            skipped[name] = "needs --real (a folder of real images)"
        else:
            wanted.append(name)
    if real:
        wanted.append("swd")
    else:
        skipped["swd"] = "needs --real (a folder of real images)"
    return sorted(wanted, key=KNOWN.index), skipped


class MetricsRunner(GeneratorPredictor):
    """The metrics of one generator; ``run`` returns ``{name: value}`` and writes ``metrics.json``."""

    def fakes(self, num, psi=1.0, batch=64):
        """``num`` images of seeds 0..num-1, ``[num, 3, H, W]`` in [-1, 1]."""
        chunks = [list(range(i, min(i + batch, num))) for i in range(0, num, batch)]
        return np.concatenate([self.synthesize(self.w_from_seeds(seeds, psi)).numpy()
                               for seeds in tqdm(chunks, desc="generating", unit="batch")])

    def run(self, wanted, real=None, num=10000, psi=1.0, inception_weights=None, dims=2048, input_size=299,
            cache=None, lpips_weights=None, ppl_num=1000):
        unknown = [m for m in wanted if m not in KNOWN]
        if unknown:
            raise UserError(f"--metrics: unknown {unknown} (expected {', '.join(KNOWN)})")
        if {"fid", "kid", "swd"} & set(wanted) and not real:
            raise UserError("--real: a folder of real images is needed for fid / kid / swd")
        model = load_inception(inception_weights, dims, "--inception-weights") if {"fid", "kid"} & set(wanted) else None
        reals = list_images(real)[:num] if real else []
        if real and not reals:
            raise UserError(f"--real {real}: no images")
        results = {}
        if {"fid", "kid", "swd"} & set(wanted):
            fake = self.fakes(num, psi)
            if model is not None:
                real_f = cached_real_features(reals, model, inception_weights, dims, input_size, cache,
                                              load=lambda path: self.load_image(path)[0].numpy())
                fake_f = inception_features(model, fake, input_size)
                if "fid" in wanted:
                    results["fid"] = fid_from_features(real_f, fake_f)
                if "kid" in wanted:
                    results["kid_x1e3"] = kid_from_features(real_f, fake_f) * 1e3
            if "swd" in wanted:
                real_images = np.stack([self.load_image(path)[0].numpy() for path in reals])
                results["swd_x1e3"] = swd(real_images, fake[:len(real_images)])["mean"]
        if "ppl" in wanted:
            distance = lpips_distance(lpips_weights) if lpips_weights else None
            results["ppl_w_end" + ("" if distance else "_pixel")] = perceptual_path_length(
                self.generator, ppl_num, distance=distance)
        write_json(results, self.path("metrics.json"), indent=1)
        return results
