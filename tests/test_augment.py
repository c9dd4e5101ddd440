"""Differentiable augmentation: fast vs reference, identity at p=0, double backward (R1), ADA controller, YAML."""
import json
import os

import numpy as np
import paddle
import pytest

from conftest import DEMO, noise_images, run_folders, run_script, tiny
from ppgan_stylegan import StyleGAN2Discriminator
from ppgan_stylegan.losses import r1_penalty
from ppgan_stylegan.data.augment import AdaptiveAugment, augment, translate, translate_reference
from ppgan_stylegan.core.state import load_state


def test_translation_fast_path_matches_reference():
    rng = np.random.RandomState(0)
    x = rng.standard_normal([4, 3, 8, 8]).astype("float32")
    dy, dx = np.array([0, 2, -3, 7]), np.array([1, -1, 0, -8])
    assert np.abs(translate(paddle.to_tensor(x), dy, dx).numpy() - translate_reference(x, dy, dx)).max() == 0


def test_identity_at_p0_and_changes_images_at_p1():
    x = paddle.rand([4, 3, 16, 16]) * 2 - 1
    assert np.array_equal(augment(x, p=0.0).numpy(), x.numpy())
    paddle.seed(0)
    y = augment(x, p=1.0)
    assert y.shape == x.shape and float((y - x).abs().mean()) > 0.05
    for policy in (["color"], ["translation"], ["cutout"]):
        assert float((augment(x, policy, p=1.0) - x).abs().max()) > 0


def test_augmentation_is_differentiable_twice_r1_through_it():
    paddle.seed(1)
    disc = StyleGAN2Discriminator(16, channel_multiplier=1, channel_base=64, channel_max=16)
    x = paddle.rand([4, 3, 16, 16]) * 2 - 1
    x.stop_gradient = False
    aug = AdaptiveAugment("color,translation,cutout", p=1.0)
    (grad,) = paddle.grad(disc(aug(x)).sum(), x)
    assert float(grad.abs().sum()) > 0
    penalty = r1_penalty(disc(aug(x)), x)  # needs the second derivative through the augmentation
    penalty.backward()
    assert sum(float(p.grad.abs().sum()) for p in disc.parameters() if p.grad is not None) > 0


def test_ada_controller_moves_p_towards_the_target():
    ada = AdaptiveAugment("translation", p=0.0, target=0.6, interval=2, kimg=0.01)  # 10 images per unit of p
    for it in (1, 2):
        ada.accumulate(paddle.ones([4, 1]), global_batch=4)  # D says "real" to every real: overfitting
        ada.adjust(it)
    assert ada.last_rt == 1.0 and abs(ada.p - 0.8) < 1e-9  # 8 images / 10 per unit
    for it in (3, 4):
        ada.accumulate(-paddle.ones([4, 1]), global_batch=4)
        ada.adjust(it)
    assert abs(ada.p - 0.0) < 1e-9
    with pytest.raises(ValueError, match="model.augment.policy"):
        AdaptiveAugment("flip")


@pytest.mark.slow
def test_augment_from_yaml_trains_logs_p_and_checkpoints_it(tmp_path):
    data = noise_images(tmp_path / "data", n=8)
    overrides = tiny({"log_config.visiual_interval": 1000, "snapshot_config.interval": 4}) + [
        f"dataset.train.dataroot={data}", "total_iters=4", f"output_dir={tmp_path / 'out'}",
        "model.augment={policy: 'color,translation,cutout', p: 0.5, target: 0.6, interval: 2, kimg: 0.01}"]
    out = run_script("tools/main.py", "-c", DEMO, "-o", *overrides)
    assert out.returncode == 0, out.stderr[-2000:]
    (run,) = run_folders(tmp_path / "out")
    ps = [h["losses"]["aug_p"] for h in json.load(open(os.path.join(run, "history.json")))]
    assert len(ps) == 4 and ps[0] == 0.5 and ps[1] != 0.5  # adjusted after iterations 2 and 4 (+-0.8, clipped)
    assert ps[1] == ps[2] and all(0.0 <= p <= 1.0 for p in ps)
    state = load_state(os.path.join(run, "iter_4_checkpoint.pdparams"))["model_state"]["augment"]
    assert abs(state["p"] - ps[-1]) < 1e-6
    bad = run_script("tools/main.py", "-c", DEMO, "-o", *overrides[:-1], "model.augment={policy: color, trget: 0.6}")
    assert bad.returncode == 2 and "model.augment.trget: unknown key (did you mean 'target'?)" in bad.stderr
