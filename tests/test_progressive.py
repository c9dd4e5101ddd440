"""Progressive growing (StyleGAN v1): NVIDIA's training schedule, the reals at a level of detail, the optimizer
reset, and training through StyleGANModel (the schedule driving G / G_ema / D, exact resume mid-transition)."""
import json
import os

import numpy as np
import paddle
import pytest

from conftest import ROOT, max_diff, pattern_images, run_folders, run_script
from ppgan_stylegan.models.progressive import (ProgressiveSchedule, new_layer_entered, process_reals,
                                               reset_optimizer_state)

V1_DEMO = os.path.join(ROOT, "configs", "stylegan_v1_demo.yaml")
# the v1 demo shrunk to 8 px (grows 4 -> 8), 4 images per minibatch, a transition every few iterations
TINY_V1 = [
    "model.generator.size=8", "model.discriminator.size=8", "model.generator.style_dim=16",
    "model.generator.n_mlp=2", "model.generator.fmap_base=32", "model.generator.fmap_max=16",
    "model.discriminator.fmap_base=32", "model.discriminator.fmap_max=16", "model.r1_gamma=1.0",
    "model.visual_num=4", "dataset.train.batch_size=4", "model.progressive.minibatch_base=4",
    "model.progressive.lod_initial_resolution=4", "model.progressive.lod_training_kimg=0.008",
    "model.progressive.lod_transition_kimg=0.016", "model.progressive.minibatch_repeats=1",
    "model.progressive.tick_kimg_base=0.008", "log_config.interval=1", "log_config.visiual_interval=2",
    "snapshot_config.interval=2", "validate.interval=-1"]

# the seed's FFHQ 1024 run on one GPU (train.py): initial resolution 8, 1gpu minibatches, G/D learning rates
FFHQ_1GPU = dict(lod_initial_resolution=8, minibatch_base=4,
                 minibatch_dict={4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4},
                 G_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003},
                 D_lrate_dict={128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003})


@pytest.mark.parametrize("kimg,lod,res,minibatch,lrate,tick", [
    (0, 7.0, 8, 128, 0.001, 140),        # 8 px: lod = 10 - log2(8)
    (600, 7.0, 8, 128, 0.001, 140),      # end of the first training phase
    (900, 6.5, 16, 128, 0.001, 120),     # half-way through fading in 16 px
    (1200, 6.0, 16, 128, 0.001, 120),
    (2100, 5.5, 32, 64, 0.001, 100),
    (4800, 3.0, 128, 16, 0.0015, 60),
    (6900, 1.5, 512, 4, 0.003, 30),
    (9000, 0.0, 1024, 4, 0.003, 20),     # full resolution: minibatch_base
    (25000, 0.0, 1024, 4, 0.003, 20),    # lod stays at 0
])
def test_schedule_table(kimg, lod, res, minibatch, lrate, tick):
    s = ProgressiveSchedule(**FFHQ_1GPU)(kimg * 1000, 10)
    assert (s["lod"], s["resolution"], s["minibatch"], s["tick_kimg"]) == (lod, res, minibatch, tick)
    assert s["G_lrate"] == s["D_lrate"] == lrate and s["kimg"] == kimg


def test_schedule_rampup_gpus_and_limits():
    sched = ProgressiveSchedule(lrate_rampup_kimg=100, minibatch_base=30, max_minibatch_per_gpu={4: 4})
    s = sched(50_000, 3)  # 8 px network, lod_initial_resolution 4: lod 1 -> 4 px
    assert (s["lod"], s["resolution"]) == (1.0, 4)
    assert s["G_lrate"] == s["D_lrate"] == 0.0005  # half-way through the ramp-up
    assert sched(0, 3, num_gpus=4)["minibatch"] == 16  # min(30 - 30 % 4, 4 per GPU x 4)
    assert sched(0, 3, num_gpus=8)["minibatch"] == 24  # 4 per GPU x 8 = 32 > 30 - 30 % 8
    assert sched.max_minibatch(3, 4) == 28
    assert new_layer_entered(6.5, 7.0) and new_layer_entered(6.0, 6.5) and not new_layer_entered(6.75, 6.5)
    with pytest.raises(ValueError, match="model.progressive.minibatch_dict: key 'x' is not a resolution"):
        ProgressiveSchedule(minibatch_dict={"x": 3})
    with pytest.raises(ValueError, match="did you mean 'lod_training_kimg'"):
        ProgressiveSchedule.from_config({"lod_trainig_kimg": 3})


def test_process_reals_matches_a_hand_computation():
    x = paddle.randn([2, 3, 16, 16])
    a = x.numpy()

    def down(v):
        return v.reshape(2, 3, v.shape[2] // 2, 2, v.shape[3] // 2, 2).mean(axis=(3, 5))

    def up(v, f=2):
        return v.repeat(f, axis=2).repeat(f, axis=3)

    assert max_diff(process_reals(x, 0).numpy(), a) == 0
    level1 = down(a)
    assert max_diff(process_reals(x, 1).numpy(), up(level1)) < 1e-6
    expected = up(level1 + (up(down(level1)) - level1) * 0.25)  # NVlabs' FadeLOD then UpscaleLOD
    assert max_diff(process_reals(x, 1.25).numpy(), expected) < 1e-6


def test_reset_optimizer_state_equals_a_fresh_optimizer():
    paddle.seed(0)
    w = paddle.create_parameter([4], "float32")
    start = w.numpy().copy()
    opt = paddle.optimizer.Adam(0.1, beta1=0.0, beta2=0.99, parameters=[w])
    for _ in range(3):
        (w * w).sum().backward()
        opt.step()
        opt.clear_grad()
    moved = w.numpy().copy()
    reset_optimizer_state(opt)
    (w * w).sum().backward()
    opt.step()
    after_reset = w.numpy().copy()
    w.set_value(moved)
    fresh = paddle.optimizer.Adam(0.1, beta1=0.0, beta2=0.99, parameters=[w])
    (w * w).sum().backward()
    fresh.step()
    assert max_diff(after_reset, w.numpy()) < 1e-7 and max_diff(moved, start) > 0.1


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return pattern_images(tmp_path_factory.mktemp("faces8"))


def _history(run_dir):
    with open(os.path.join(run_dir, "history.json")) as f:
        return {h["iter"]: h["losses"] for h in json.load(f) if "losses" in h}


@pytest.mark.slow
def test_v1_trains_through_a_transition_and_resumes_exactly(tiny_data, tmp_path):
    args = ["-c", V1_DEMO, "-o", *TINY_V1, f"dataset.train.dataroot={tiny_data}",
            f"dataset.test.dataroot={tiny_data}", "--seed", "5"]
    runs = {}
    for name, total, extra in [("straight", 8, []), ("split", 4, ["snapshot_config.interval=4"])]:
        out = run_script("tools/main.py", *args, "-o", f"total_iters={total}", f"output_dir={tmp_path / name}", *extra,
                         cwd=str(tmp_path))
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        (runs[name],) = run_folders(tmp_path / name)
    # iteration 4 is in the middle of fading in 8 px (kimg 0.008 .. 0.024): resume from there
    out = run_script("tools/main.py", *args, "-o", "total_iters=8", f"output_dir={tmp_path / 'split'}", "--resume",
                     os.path.join(runs["split"], "iter_4_checkpoint.pdparams"), cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    h1, h2 = _history(runs["straight"]), _history(runs["split"])
    # lod by iteration: 4 px for 8 images (2 iterations), then 16 images of fading, then 8 px
    assert [round(h1[i]["lod"], 4) for i in range(1, 9)] == [1, 1, 1, 0.75, 0.5, 0.25, 0, 0]
    assert [h1[i]["kimg"] for i in range(1, 9)] == pytest.approx([0.004 * i for i in range(8)])
    assert all("l_d_r1" in h1[i] for i in range(1, 9))  # R1 every step (not lazy)
    for it in range(1, 9):
        assert h1[it].keys() == h2[it].keys()
        for k in h1[it]:
            assert abs(h1[it][k] - h2[it][k]) <= 1e-6, (it, k, h1[it][k], h2[it][k])
    from ppgan.utils.filesystem import load
    a = load(os.path.join(runs["straight"], "iter_8_checkpoint.pdparams"))
    b = load(os.path.join(runs["split"], "iter_8_checkpoint.pdparams"))
    for net in ("gen", "disc", "gen_ema"):
        for k in a[net]:
            assert np.abs(np.asarray(a[net][k]) - np.asarray(b[net][k])).max() <= 1e-6, (net, k)
    assert a["model_state"] == b["model_state"]
    assert float(np.asarray(a["gen"]["lod"])[0]) == 0 and float(np.asarray(a["disc"]["lod"])[0]) == 0
    with open(os.path.join(runs["straight"], "log.txt")) as f:
        assert "tick 1 kimg" in f.read()


@pytest.mark.slow
def test_v1_learning_rates_and_optimizer_resets_follow_the_schedule(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    from ppgan_stylegan.core.config import load_config
    cfg = load_config(V1_DEMO, TINY_V1 + [f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
                                          "total_iters=1", "model.progressive.G_lrate_dict={8: 0.004}"])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path)
    trainer = Trainer(cfg)
    model, opts = trainer.model, trainer.optimizers
    resets = []
    import ppgan_stylegan.models.stylegan_model as sm
    original = sm.reset_optimizer_state
    sm.reset_optimizer_state = lambda opt: (resets.append(model.cur_nimg), original(opt))
    try:
        lrs = []
        for it in range(8):
            model.setup_input({"A": paddle.randn([4, 3, 8, 8])})
            model.train_iter(opts)
            lrs.append((round(model.sched["lod"], 4), opts["optimG"].get_lr(), opts["optimD"].get_lr()))
    finally:
        sm.reset_optimizer_state = original
    assert lrs[0] == (1.0, 0.002, 0.002) and lrs[-1] == (0.0, 0.004, 0.002)  # 8 px: G_lrate_dict
    # a reset (of both optimizers) at the start and whenever the integer bracket of lod changes
    assert resets == [0, 0, 12, 12, 24, 24]
    assert model.nets["gen"].current_level() == (3, 0.0) and model.nets["gen_ema"].current_level() == (3, 0.0)
    assert float(model.nets["disc"].lod.numpy()[0]) == 0.0


@pytest.mark.slow
def test_r1_from_the_main_pass_equals_its_own_pass(tiny_data, tmp_path):
    """Non-lazy R1 reuses the main D pass's real scores (as NVlabs' D_logistic_simplegp): the same value and
    the same gradients as a separate pass."""
    from ppgan.engine.trainer import Trainer
    from ppgan_stylegan.core.config import load_config
    cfg = load_config(V1_DEMO, TINY_V1 + [f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
                                          "total_iters=1", "model.progressive=null"])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path)
    model = Trainer(cfg).model
    model.real_img, model.fake_img = paddle.randn([4, 3, 8, 8]), None  # (R2 off)
    disc = model.nets["disc"]
    grads = []
    for shared in (False, True):
        x = model.real_img.detach()
        x.stop_gradient = False
        value = model._d_penalties(1, real=(x, disc(x)) if shared else None)
        disc.clear_gradients()
        value.backward()
        grads.append((float(value), {n: p.grad.numpy().copy() for n, p in disc.named_parameters()
                                     if p.grad is not None}))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-6) and grads[0][0] > 0
    assert grads[0][1].keys() == grads[1][1].keys()
    for name, g in grads[0][1].items():
        assert max_diff(g, grads[1][1][name]) < 1e-6, name
