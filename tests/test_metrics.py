"""FID / KID / PPL: formulas, a randomly initialised Inception of the real architecture, the CLI and YAML."""
import json
import os

import numpy as np
import paddle
import pytest
from ppgan.metrics.inception import InceptionV3

from conftest import DEMO, into, noise_images, run_folders, run_script, tiny
from ppgan_stylegan import StyleGAN2Generator
from ppgan_stylegan.metrics import (KernelInceptionDistance, fid_from_features, kid_from_features,
                                    perceptual_path_length)
from ppgan_stylegan.metrics.inception import (frechet_distance, inception_features, load_inception,
                                              polynomial_mmd_unbiased)
from ppgan_stylegan.core.errors import UserError


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory):
    """ppgan's InceptionV3 (first two blocks: 192-d features), random init, in its weight-file format."""
    paddle.seed(0)
    with paddle.utils.unique_name.guard():
        net = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[192]], resize_input=False, normalize_input=False)
    path = str(tmp_path_factory.mktemp("inception") / "InceptionV3.pdparams")
    paddle.save(net.state_dict(), path)
    return path


def test_frechet_distance_closed_form_for_diagonal_covariances():
    rng = np.random.RandomState(0)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    a, b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert abs(frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) - expected) < 1e-9


def test_frechet_distance_on_the_current_scipy_api_and_like_the_reference():
    """No deprecated SciPy argument (DeprecationWarning is an error here); a square root whose diagonal has an
    imaginary part beyond 1e-3 raises, as pytorch-fid's calculate_frechet_distance does."""
    import warnings
    rng = np.random.RandomState(2)
    x = rng.standard_normal([64, 6])
    y = x @ rng.uniform(0.5, 1.5, [6, 6])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        value = frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert np.isfinite(value) and value > 0
    with pytest.raises(ValueError, match="imaginary component"):
        frechet_distance(np.zeros(2), np.diag([1.0, 1.0]), np.zeros(2), np.diag([-1.0, 1.0]))


def test_kid_defaults_are_nvlabs_100_subsets_of_1000(inception_weights):
    rng = np.random.RandomState(3)
    x, y = rng.standard_normal([300, 4]), rng.standard_normal([250, 4]) + 0.2
    assert kid_from_features(x, y) == kid_from_features(x, y, subsets=100, subset_size=1000)
    assert kid_from_features(x, y) != kid_from_features(x, y, subsets=10, subset_size=1000)
    metric = KernelInceptionDistance(inception_weights=inception_weights, dims=192, input_size=75)
    assert metric.options == dict(subsets=100, subset_size=1000)


def test_kid_unbiased_estimator_matches_a_hand_computation():
    rng = np.random.RandomState(1)
    x, y = rng.standard_normal([6, 4]), rng.standard_normal([5, 4]) + 0.3
    k = lambda a, b: (a @ b / 4 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    assert abs(polynomial_mmd_unbiased(x, y) - (xx + yy - 2 * xy)) < 1e-9
    same = rng.standard_normal([400, 4])
    assert abs(kid_from_features(same[:200], same[200:], subsets=5, subset_size=100)) < 0.05  # unbiased: ~0


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(inception_weights):
    model = load_inception(inception_weights, dims=192)
    rng = np.random.RandomState(2)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    base = np.stack([np.stack([np.sin(6 * xx * (1 + i % 5)), np.cos(5 * yy * (1 + i % 7)), xx * yy * 2 - 1])
                     for i in range(96)]).astype("float32")
    real = inception_features(model, base, input_size=75)
    assert real.shape == (96, 192)
    self_fid = fid_from_features(real, real)  # ~0 up to sqrtm round-off (96 samples, 192-d: singular)
    fids = [fid_from_features(real, inception_features(
        model, np.clip(base + sigma * rng.standard_normal(base.shape), -1, 1).astype("float32"), input_size=75))
        for sigma in (0.05, 0.2, 0.5, 1.0)]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert abs(self_fid) < 1e-4 and abs(self_fid) < 1e-3 * fids[0], (self_fid, fids)


def test_missing_or_wrong_inception_weights_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="nothing is downloaded"):
        load_inception(str(tmp_path / "InceptionV3.pdparams"))
    paddle.save({"Conv2d_1a_3x3.conv.weight": paddle.zeros([1])}, str(tmp_path / "other.pdparams"))
    with pytest.raises(UserError, match=r"do not fit ppgan's InceptionV3 \(FID\) \(Conv2d_1a_3x3.conv.weight: file \[1\]"):
        load_inception(str(tmp_path / "other.pdparams"), dims=64)


def test_ppl_is_positive_and_follows_the_generator():
    paddle.seed(3)
    g = StyleGAN2Generator(8, style_dim=16, n_mlp=2, channel_base=64, channel_max=16)
    ppl = perceptual_path_length(g, num=32, batch=16)
    assert np.isfinite(ppl) and ppl > 0
    assert perceptual_path_length(g, num=32, batch=16) == ppl  # seeded
    full = perceptual_path_length(g, num=32, batch=16, sampling="full")
    assert np.isfinite(full) and full > 0


@pytest.mark.slow
def test_default_metrics_need_no_download():
    from ppgan_stylegan.apps.metrics import default_metrics
    assert default_metrics() == (["ppl"], {name: default_metrics()[1][name] for name in ("fid", "kid", "swd")})
    assert default_metrics("real")[0] == ["ppl", "swd"]
    assert default_metrics("real", "inception.pdparams") == (["fid", "kid", "ppl", "swd"], {})
    assert "needs --real" in default_metrics(None, "inception.pdparams")[1]["fid"]


def test_metrics_cli_with_cache_and_yaml_metrics(inception_weights, tmp_path):
    paddle.seed(4)
    g = StyleGAN2Generator(8, style_dim=16, n_mlp=2, channel_base=64, channel_max=16)
    weights = str(tmp_path / "g.pdparams")
    paddle.save({"gen_ema": g.state_dict()}, weights)
    real = noise_images(tmp_path / "real", n=24)
    cli = ["--weights", weights, "--real", str(real),
           "--num", "24", "--inception-weights", inception_weights, "--dims", "192", "--input-size", "75",
           "--cache", str(tmp_path / "real.npz"), "--metrics", "fid,kid,swd,ppl", "--ppl-num", "16",
           *into(str(tmp_path / "m"))]
    first = run_script("tools/metrics.py", *cli)
    assert first.returncode == 0, first.stderr[-2000:]
    results = json.load(open(tmp_path / "m" / "metrics.json"))
    assert set(results) == {"fid", "kid_x1e3", "swd_x1e3", "ppl_w_end_pixel"} and results["fid"] > 0
    mtime = os.path.getmtime(tmp_path / "real.npz")
    second = run_script("tools/metrics.py", *cli)
    assert second.returncode == 0 and os.path.getmtime(tmp_path / "real.npz") == mtime  # read from the cache
    assert json.load(open(tmp_path / "m" / "metrics.json"))["fid"] == pytest.approx(results["fid"], rel=1e-9)
    missing = run_script("tools/metrics.py", *cli[:6], "--metrics", "fid", *into(tmp_path / "n"))
    assert missing.returncode == 2 and "nothing is downloaded" in missing.stderr and "Traceback" not in missing.stderr
    # no --metrics: what needs no download (SWD, PPL), each skipped one named with its reason
    offline = run_script("tools/metrics.py", *cli[:6], "--ppl-num", "8", *into(tmp_path / "o"))
    assert offline.returncode == 0, offline.stderr[-2000:]
    assert set(json.load(open(tmp_path / "o" / "metrics.json"))) == {"swd_x1e3", "ppl_w_end_pixel"}
    assert "skipped fid: needs --inception-weights" in offline.stdout and "skipped kid: needs" in offline.stdout

    # the same metrics from YAML during training (validate.metrics), PPL handed gen_ema by the model
    out = run_script("tools/main.py", "-c", DEMO, "-o",
                     *tiny({"log_config.visiual_interval": 1000, "validate.interval": 2}),
                     "dataset.test.batch_size=12", f"dataset.train.dataroot={real}",
                     f"dataset.test.dataroot={real}", "total_iters=2", f"output_dir={tmp_path / 'run'}",
                     "validate.metrics={ppl: {name: PerceptualPathLength, num: 16}, "
                     f"fid: {{name: FrechetInceptionDistance, inception_weights: {inception_weights}, "
                     "dims: 192, input_size: 75}}")
    assert out.returncode == 0, out.stderr[-2000:]
    (run,) = run_folders(tmp_path / "run")
    metrics = [h["metrics"] for h in json.load(open(os.path.join(run, "history.json"))) if "metrics" in h][-1]
    assert set(metrics) == {"ppl", "fid"} and metrics["ppl"] > 0 and metrics["fid"] > 0
