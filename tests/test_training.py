"""StyleGANModel in ppgan's Trainer: regularisers on CPU, r-scaled Adam, EMA, w_avg, exact resume."""
import glob
import json
import os
import re
import subprocess

import numpy as np
import paddle
import pytest

from conftest import (DEMO, MAIN, ROOT, class_images, losses_by_iteration, only_run, pattern_images, resume_matches,
                      run_script, tiny, train_cli)
from ppgan_stylegan.core.config import load_config, validate_config
from ppgan_stylegan.core.errors import ConfigError
from ppgan_stylegan.data.prepare import prepare_demo
from ppgan_stylegan.engine import ResumableTrainer, seed_everything

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)

TINY = tiny()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return pattern_images(tmp_path_factory.mktemp("faces8"))


def tiny_cfg(data, out, extra=()):
    cfg = load_config(DEMO, TINY + [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}", *extra])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(out)
    return cfg


def test_stock_ppgan_trainer_runs_regularisers_on_cpu(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    paddle.seed(0)
    trainer = Trainer(tiny_cfg(tiny_data, tmp_path, ["total_iters=2"]))
    model = trainer.model
    gen = model.nets["gen"]
    assert not gen.w_avg_tracked
    seen = set()
    orig = model.train_iter

    def spy(optimizers=None):
        orig(optimizers)
        seen.update(model.losses)
    model.train_iter = spy
    trainer.train()
    assert {"l_d", "l_g", "l_d_r1", "l_g_path", "path_length"} <= seen
    assert all(np.isfinite(float(v)) for v in model.losses.values())
    assert gen.w_avg_tracked and float(gen.w_avg.abs().sum()) > 0
    ckpt = os.path.join(str(tmp_path), "iter_2_checkpoint.pdparams")
    assert os.path.isfile(ckpt)
    from ppgan.utils.filesystem import load
    state = load(ckpt)
    assert np.allclose(state["gen"]["w_avg"], gen.w_avg.numpy())
    assert glob.glob(os.path.join(str(tmp_path), "visual_train", "*samples_ema.png"))


def test_adam_hyperparameters_are_r_scaled(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    trainer = Trainer(tiny_cfg(tiny_data, tmp_path, ["total_iters=1", "model.r1_interval=16",
                                                     "model.pl_interval=4"]))
    opt_g, opt_d = trainer.optimizers["optimG"], trainer.optimizers["optimD"]
    rg, rd = 4 / 5, 16 / 17
    lr = load_config(DEMO).lr_scheduler.learning_rate
    assert abs(opt_g.get_lr() - lr * rg) < 1e-12 and abs(opt_d.get_lr() - lr * rd) < 1e-12
    assert abs(opt_g._beta1 - 0.0) < 1e-12 and abs(opt_g._beta2 - 0.99 ** rg) < 1e-12
    assert abs(opt_d._beta2 - 0.99 ** rd) < 1e-12
    assert abs(trainer.model.hparams["optimD"]["beta2"] - 0.99 ** rd) < 1e-12


def test_ema_beta_formula_and_update(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    model = Trainer(tiny_cfg(tiny_data, tmp_path, ["total_iters=1", "model.ema_rampup=null"])).model
    model.ema_kimg = 10
    assert abs(model.ema_beta(32) - 0.5 ** (32 / 10000)) < 1e-15
    gen, ema = model.nets["gen"], model.nets["gen_ema"]
    for p in gen.parameters():
        p.set_value(p + 1.0)
    before = {n: p.numpy().copy() for n, p in ema.named_parameters()}
    model.update_ema(32)
    beta = 0.5 ** (32 / 10000)
    for n, p in ema.named_parameters():
        src = dict(gen.named_parameters())[n].numpy()
        assert np.allclose(p.numpy(), beta * before[n] + (1 - beta) * src, atol=1e-6)
    gen.update_w_avg(paddle.ones([2, 16]))
    model.update_ema(32)
    assert np.array_equal(ema.w_avg.numpy(), gen.w_avg.numpy())  # buffers copied
    model.ema_rampup, model.cur_nimg = 0.05, 100
    assert abs(model.ema_beta(4) - 0.5 ** (4 / 5)) < 1e-12  # half-life min(10k, 100 * 0.05) images


def test_resume_is_exact(tiny_data, tmp_path):
    cfg_args = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
                "--seed", "7"]
    # 12 images, batch 4: 3 iterations per epoch, so iteration 4 is mid-epoch (random flips on)
    straight_dir, split_dir = resume_matches(cfg_args, tmp_path, total=6, split_at=4)
    h1 = losses_by_iteration(straight_dir)
    # lazy regularisation every 2 iterations from the first: iterations 1, 3, 5 (5 is after the resume point)
    assert all("l_d_r1" in h1[i] and "l_g_path" in h1[i] for i in (1, 3, 5))
    assert not any("l_d_r1" in h1[i] or "l_g_path" in h1[i] for i in (2, 4, 6))
    from ppgan.utils.filesystem import load
    a = load(os.path.join(split_dir, "iter_6_checkpoint.pdparams"))
    assert a["model_state"]["current_iter"] == 6
    assert a["meta"]["versions"]["paddle"] == paddle.__version__
    assert a["meta"]["images_seen"] == a["model_state"]["cur_nimg"] == 6 * 4  # (the web app's model card)


@pytest.mark.parametrize("name", ["stylegan_v2_demo.yaml", "stylegan_v2_256.yaml", "stylegan_v2_ffhq.yaml",
                                  "stylegan_v2_finetune.yaml", "stylegan_v1_demo.yaml", "stylegan_v1_ffhq.yaml"])
def test_configs_build_and_are_commented(name):
    from ppgan.models.builder import build_model
    path = os.path.join(ROOT, "configs", name)
    with open(path) as f:
        assert sum(1 for line in f if "#" in line) >= 8  # the YAML explains itself
    full = load_config(path)
    small = ["model.generator.size=8", "model.discriminator.size=8"]
    cfg = load_config(path, small + (["model.freeze_d=2"] if full.model.get("freeze_d") else []))  # 8 px D: 2 blocks
    assert full.model.generator.size == full.model.discriminator.size
    validate_config(full)  # every key known to the class that reads it
    model = build_model(cfg.model)
    assert set(model.nets) == {"gen", "disc", "gen_ema"}
    assert cfg.optimizer.optimG.beta2 == 0.99 and cfg.lr_scheduler.learning_rate in (0.001, 0.002, 0.0025)


def test_load_and_evaluate_only(tiny_data, tmp_path):
    cfg_args = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
                "dataset.test.batch_size=4"]
    train_cli(cfg_args + ["-o", "total_iters=2", f"output_dir={tmp_path / 'train'}"], str(tmp_path))
    weights = os.path.join(only_run(str(tmp_path / "train")), "iter_2_weight.pdparams")
    out = train_cli(cfg_args + ["-o", f"output_dir={tmp_path / 'eval'}", "--evaluate-only", "--load", weights], str(tmp_path))
    log = open(os.path.join(only_run(str(tmp_path / "eval")), "log.txt")).read()
    assert f"loaded gen, disc, gen_ema from {weights}" in log
    assert "Metric swd:" in log and "output:" in out.stdout


@pytest.mark.parametrize("extra,expect", [
    (["model.r2_gamma=1.0"], {"l_d_r1", "l_d_r2"}),
    (["model.d_loss=wgan_gp", "model.g_loss=wgan"], {"l_d_gp"}),
    (["model.d_loss=hinge_gp", "model.g_loss=hinge"], {"l_d_gp"}),
    (["model.d_loss=wgan", "model.g_loss=saturating", "model.r1_gamma=0"], set()),
    # RpGAN with R1 + R2 (R3GAN); the G step scores the reals too
    (["model.d_loss=relativistic", "model.g_loss=relativistic", "model.r2_gamma=1.0"], {"l_d_r1", "l_d_r2"}),
])
def test_loss_variants_train_one_iteration(tiny_data, tmp_path, extra, expect):
    from ppgan.engine.trainer import Trainer
    paddle.seed(1)
    trainer = Trainer(tiny_cfg(tiny_data, tmp_path, ["total_iters=1", *extra]))
    trainer.train()
    losses = trainer.model.losses
    assert expect <= set(losses)
    assert all(np.isfinite(float(v)) for v in losses.values())
    if "model.r1_gamma=0" in extra:
        assert "l_d_r1" not in losses and trainer.model.d_reg_ratio == 1.0


def test_bad_model_values_are_rejected_with_the_key(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    for extra, message in [(["model.mixing_prob=1.5"], "model.mixing_prob: expected a probability in [0, 1]"),
                           (["model.r1_interval=0"], "model.r1_interval: expected an integer >= 1"),
                           (["model.d_loss=lsgan"], "model.d_loss: expected one of")]:
        with pytest.raises(ValueError) as err:
            Trainer(tiny_cfg(tiny_data, tmp_path, ["total_iters=1", *extra]))
        assert message in str(err.value)


def test_stylegan1_discriminator_trains_and_foreign_generator_is_refused(tiny_data, tmp_path):
    from ppgan.engine.trainer import Trainer
    d1 = ["model.discriminator.name=StyleGANDiscriminator", "model.discriminator.fmap_base=64",
          "model.discriminator.fmap_max=16", "model.discriminator.structure=linear"]
    cfg = tiny_cfg(tiny_data, tmp_path, ["total_iters=2", *d1])
    for key in ("channel_multiplier", "channel_base", "channel_max"):
        cfg.model.discriminator.pop(key)
    trainer = Trainer(cfg)
    trainer.train()
    assert type(trainer.model.nets["disc"]).__name__ == "StyleGANDiscriminator"
    assert {"l_d", "l_g"} <= set(trainer.model.losses)
    cfg = tiny_cfg(tiny_data, tmp_path, ["total_iters=1", "model.generator.name=StyleGANv2Generator"])
    for key in ("channel_base", "channel_max"):
        cfg.model.generator.pop(key)
    with pytest.raises(ValueError, match="'StyleGANv2Generator' lacks update_w_avg"):
        Trainer(cfg)


def test_corrupt_image_is_skipped_and_counted(tiny_data, tmp_path):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "img_05.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    from ppgan_stylegan.data.datasets import StyleGANImageFolder
    ds = StyleGANImageFolder(str(data), hflip=False)
    items = [ds[i] for i in range(len(ds))]
    assert len(ds.skipped) == 1 and str(data / "img_05.png") in ds.skipped
    assert items[5]["A_path"].endswith("img_06.png")  # replaced by the next readable image
    assert all(it["A"].shape == (3, 8, 8) for it in items)
    out = train_cli(["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
                "total_iters=4", f"output_dir={tmp_path / 'run'}"], str(tmp_path))
    log = open(os.path.join(only_run(str(tmp_path / "run")), "log.txt")).read()
    assert "skipping unreadable image" in log and "img_05.png" in log and "1 of 12 images unreadable and skipped" in log
    assert "output:" in out.stdout


def test_nonfinite_losses_stop_the_run_and_keep_the_last_checkpoint(tiny_data, tmp_path):
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}",
                     f"dataset.test.dataroot={tiny_data}", "total_iters=20", "snapshot_config.interval=1",
                     "lr_scheduler.learning_rate=1e30", "model.max_nonfinite=2", f"output_dir={tmp_path / 'run'}")
    assert out.returncode == 3, out.stdout[-2000:] + out.stderr[-2000:]
    err = out.stderr.strip().splitlines()[-1]
    assert err.startswith("error: stopped: 2 consecutive iterations with non-finite losses")
    assert "Traceback" not in out.stderr
    run = only_run(str(tmp_path / "run"))
    log = open(os.path.join(run, "log.txt")).read()
    assert "non-finite" in log and "no update" in log
    ckpts = sorted(f for f in os.listdir(run) if f.endswith("_checkpoint.pdparams"))
    assert len(ckpts) == 1  # the last good one; nothing written for the failed iterations
    from ppgan.utils.filesystem import load
    state = load(os.path.join(run, ckpts[0]))
    assert state["model_state"]["current_iter"] == state["epoch"]


def test_main_reports_config_errors_in_one_line(tiny_data, tmp_path):
    base = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"output_dir={tmp_path / 'run'}"]
    for extra, message in [(["model.mixing_prob=1.5"], "model.mixing_prob: expected a probability in [0, 1], got 1.5"),
                           (["model.nope.x=1"], "'model.nope' is not in the config")]:
        out = run_script("tools/main.py", *base, *extra)
        assert out.returncode == 2 and message in out.stderr, out.stderr[-1500:]
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = run_script("tools/main.py", *base, "model.mixing_prob=1.5", "--debug")
    assert out.returncode == 2 and "Traceback" in out.stderr
    out = run_script("tools/main.py", "-c", tmp_path / "none.yaml")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_sigterm_saves_and_resume_matches_an_uninterrupted_run(tiny_data, tmp_path):
    import signal
    import time
    common = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
              "snapshot_config.interval=1000", "--seed", "5"]
    out_dir = tmp_path / "interrupted"
    proc = subprocess.Popen(MAIN + common + ["-o", "total_iters=500", f"output_dir={out_dir}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until a few iterations are logged
        hist = glob.glob(str(out_dir / "*" / "history.json"))
        if hist:
            try:
                if len(json.load(open(hist[0]))) >= 3:
                    break
            except ValueError:
                pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    assert "stopped by SIGTERM after iteration" in stdout
    k = int(stdout.split("stopped by SIGTERM after iteration ")[1].split(";")[0])
    assert 3 <= k < 500
    run = only_run(str(out_dir))
    ckpt = os.path.join(run, f"iter_{k}_checkpoint.pdparams")
    assert os.path.isfile(ckpt)
    train_cli(common + ["-o", f"total_iters={k + 3}", f"output_dir={out_dir}", "--resume", ckpt], str(tmp_path))
    train_cli(common + ["-o", f"total_iters={k + 3}", f"output_dir={tmp_path / 'straight'}"], str(tmp_path))
    h_resumed, h_straight = losses_by_iteration(run), losses_by_iteration(only_run(str(tmp_path / "straight")))
    assert sorted(h_resumed) == sorted(h_straight) == list(range(1, k + 4))
    for it in range(1, k + 4):
        for key, value in h_straight[it].items():
            assert abs(h_resumed[it][key] - value) <= 1e-6, (it, key)


def test_flips_depend_on_seed_epoch_and_index_only(tiny_data):
    from ppgan_stylegan.data.datasets import StyleGANImageFolder
    ds = StyleGANImageFolder(tiny_data, hflip=True)
    ds.set_epoch(3, seed=9)
    first = [ds.flipped(i) for i in range(len(ds))]
    np.random.seed(123)  # the global generator's state does not matter
    assert [ds.flipped(i) for i in range(len(ds))] == first
    item = ds[2]["A"]
    assert np.array_equal(item[:, :, ::-1], StyleGANImageFolder(tiny_data, hflip=False)[2]["A"]) == first[2]
    many = [StyleGANImageFolder.flipped(ds, i) for i in range(len(ds))]
    ds.set_epoch(4, seed=9)
    assert [ds.flipped(i) for i in range(len(ds))] != many  # a new epoch, new flips
    counts = sum(ds.flipped(i) for e in range(50) for i in range(12) if not ds.set_epoch(e, 1))
    assert 0.4 < counts / 600 < 0.6


def test_amp_switch_on_cpu_warns_and_trains_in_float32(tiny_data, tmp_path):
    """model.amp is a GPU feature: on the CPU it says so and the run equals the float32 one."""
    args = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", "total_iters=2", "--seed", "1"]
    train_cli(args + ["-o", "model.amp=true", f"output_dir={tmp_path / 'amp'}"], str(tmp_path))
    train_cli(args + ["-o", f"output_dir={tmp_path / 'fp32'}"], str(tmp_path))
    run_amp, run_fp32 = only_run(str(tmp_path / "amp")), only_run(str(tmp_path / "fp32"))
    assert "model.amp: mixed precision needs a GPU; training in float32" in open(os.path.join(run_amp, "log.txt")).read()
    h_amp, h_fp32 = (json.load(open(os.path.join(r, "history.json"))) for r in (run_amp, run_fp32))
    assert [h["losses"] for h in h_amp] == [h["losses"] for h in h_fp32]


def test_demo_config_trains_20_iterations_with_r1_and_path_length(tmp_path):
    """The shipped demo config as a user runs it (20 iterations): R1 and path length both run, losses finite."""
    data = str(tmp_path / "faces")
    prepare_demo(data)
    out = run_script("tools/main.py", "-c", DEMO, "-o", "total_iters=20", "log_config.interval=1",
                     f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}", f"output_dir={tmp_path / 'run'}")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    history = json.load(open(os.path.join(only_run(str(tmp_path / "run")), "history.json")))
    losses = [h["losses"] for h in history if "losses" in h]
    assert len(losses) == 20
    assert sum("l_d_r1" in h for h in losses) == 2 and sum("l_g_path" in h for h in losses) == 5  # 0, 16 / 0, 4, ...
    assert all(np.isfinite(v) for h in losses for v in h.values())


def test_finetune_from_a_converted_release_keeps_frozen_d_blocks(tiny_data, tmp_path):
    """convert (a rosinality .pt written from our nets) -> --load -> train with model.freeze_d=2: the frozen
    blocks stay bit-identical, the rest of D changes, R1 and path length run."""
    import weight_writers as ww
    from ppgan.models.builder import build_model
    from ppgan_stylegan.apps.convert import convert_file
    from conftest import randomize
    paddle.seed(3)
    pretrained = build_model(tiny_cfg(tiny_data, tmp_path / "unused").model)
    g, d = randomize(pretrained.nets["gen"], 5), randomize(pretrained.nets["disc"], 6)

    def state(net):
        return {k: v.numpy() for k, v in net.state_dict().items()}
    src, dst = tmp_path / "pretrained.pt", tmp_path / "pretrained.pdparams"
    ww.write_torch_zip(src, {"g": ww.rosinality_state(state(g)), "g_ema": ww.rosinality_state(state(g)),
                             "d": ww.rosinality_state(state(d)), "latent_avg": ww.Tensor(np.full([16], 0.1, "float32"))})
    convert_file(str(src), str(dst))
    out_dir = tmp_path / "finetune"
    train_cli(["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
          "total_iters=4", "model.freeze_d=2", "model.start_kimg=25000", f"output_dir={out_dir}", "--load", str(dst)],
         str(tmp_path))
    run = only_run(str(out_dir))
    after = paddle.load(os.path.join(run, "iter_4_weight.pdparams"))["disc"]
    before = state(d)
    frozen = [k for k in before if k.startswith(("convs.0.", "convs.1."))]
    trained = [k for k in before if k not in frozen]
    assert frozen and trained
    assert all(np.array_equal(before[k], after[k].numpy()) for k in frozen)
    assert all(not np.array_equal(before[k], after[k].numpy()) for k in trained)
    history = json.load(open(os.path.join(run, "history.json")))
    losses = [h["losses"] for h in history if "losses" in h]
    assert any("l_d_r1" in h for h in losses) and any("l_g_path" in h for h in losses)
    log = open(os.path.join(run, "log.txt")).read()
    assert "discriminator blocks convs.0 .. convs.1 frozen" in log and f"from {dst}" in log
    ckpt = paddle.load(os.path.join(run, "iter_4_checkpoint.pdparams"))
    assert ckpt["model_state"]["cur_nimg"] == 25_000_000 + 4 * 4  # the image counter continued from start_kimg


def test_divergence_rolls_back_lowers_the_learning_rate_and_finishes(tiny_data, tmp_path):
    """Non-finite losses injected at iterations 5 and 6 (PPGAN_STYLEGAN_FAULT_NONFINITE; max_nonfinite 2): the run
    reloads its iteration-4 checkpoint in-process, halves every learning rate, replays 5.. and finishes; the
    lowered rate is kept in the checkpoints, so a --resume continues with it."""
    run_dir = tmp_path / "run"
    common = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}", f"dataset.test.dataroot={tiny_data}",
              "snapshot_config.interval=2", "log_config.interval=1", "model.max_nonfinite=2", f"output_dir={run_dir}"]
    env = dict(os.environ, PPGAN_STYLEGAN_FAULT_NONFINITE="5,6")
    out = run_script("tools/main.py", *common, "total_iters=8", env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run = only_run(str(run_dir))
    log = open(os.path.join(run, "log.txt")).read()
    assert "iteration 5: non-finite" in log and "iteration 6: non-finite" in log
    assert "divergence: rolled back to iter_4_checkpoint.pdparams (rollback 1 of 3); learning rates now x0.5" in log
    history = json.load(open(os.path.join(run, "history.json")))
    assert [h["iter"] for h in history if "losses" in h] == list(range(1, 9))  # 5 and 6 replayed, once each
    lrs = {int(it): float(lr) for it, lr in re.findall(r"Iter: (\d+)/\d+ lr: (\S+)", log)}
    assert lrs[8] == pytest.approx(0.5 * lrs[3], rel=1e-3)
    from ppgan.utils.filesystem import load
    state = load(os.path.join(run, "iter_8_checkpoint.pdparams"))
    assert state["meta"]["rollback"] == {"count": 1, "lr_scale": 0.5}
    resumed = run_script("tools/main.py", *common, "total_iters=9", "--resume", os.path.join(run, "iter_8_checkpoint.pdparams"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = open(os.path.join(run, "log.txt")).read().split("resumed from")[-1]
    assert float(re.findall(r"Iter: 9/9 lr: (\S+)", after)[0]) == pytest.approx(lrs[8], rel=1e-3)


def test_divergence_stops_after_the_last_rollback(tiny_data, tmp_path):
    """Every iteration from 3 on fails once: two rollbacks (to 2, then 3) help for one iteration each, the third
    failure stops the run with one line (exit 3)."""
    env = dict(os.environ, PPGAN_STYLEGAN_FAULT_NONFINITE="3-30")
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={tiny_data}",
                     "total_iters=30", "snapshot_config.interval=1", "model.max_nonfinite=1", "model.max_rollbacks=2",
                     f"output_dir={tmp_path / 'run'}", env=env)
    assert out.returncode == 3 and "Traceback" not in out.stderr, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert "last: iteration 5" in last and last.endswith("(after 2 rollback(s))"), last


CONDITIONAL = ["model.generator.c_dim=2", "model.discriminator.c_dim=2", "model.discriminator.mapping_layers=2",
               "dataset.train.labels=folders", "dataset.test.labels=folders"]


@pytest.mark.parametrize("extra", [
    [],  # lazy R1 and path length (every 2nd iteration here)
    ["model.lazy_regularization=false", "model.r2_gamma=0.5"],  # penalties inside the main steps, R2 too
    CONDITIONAL + ["model.r2_gamma=0.5"],  # labels through every phase and micro-batch (R1, R2, path length)
], ids=["lazy", "non-lazy", "conditional"])
def test_batch_gpu_accumulation_equals_the_full_batch(tiny_data, tmp_path, extra):
    """model.batch_gpu: 2 splits the batch of 8 into 4 micro-batches (path length: 4 -> 2) whose gradients are
    summed before each step; D's minibatch-stddev groups (2) are the full batch's. Weights, EMA, w_avg, the
    path-length mean and the logged losses equal training on the full batch. (SGD here: Adam turns rounding-level
    differences of near-zero gradients into whole steps of +-lr, since with beta1 = 0 it moves by g / |g|.
    Augmentation draws its random transforms per micro-batch: equal in law only, so it is not compared.)"""
    results = []
    sgd = "optimizer={optimG: {name: SGD, net_names: [gen]}, optimD: {name: SGD, net_names: [disc]}}"
    for batch_gpu in (None, 2):
        opts = ["dataset.train.batch_size=8", "model.discriminator.stddev_group=2", "total_iters=4", sgd,
                "lr_scheduler.learning_rate=0.05", *extra] + ([f"model.batch_gpu={batch_gpu}"] if batch_gpu else [])
        seed_everything(0)
        data = class_images(tmp_path / "classes", size=8) if "model.generator.c_dim=2" in extra else tiny_data
        trainer = ResumableTrainer(tiny_cfg(data, tmp_path / str(batch_gpu), opts))
        trainer.train()
        results.append(trainer)
    full, parts = results
    assert parts.model.batch_gpu == 2 and len(parts.model._parts(8)) == 4
    for net in ("gen", "disc", "gen_ema"):
        ours, theirs = full.model.nets[net].state_dict(), parts.model.nets[net].state_dict()
        for key, value in ours.items():
            np.testing.assert_allclose(theirs[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-5,
                                       err_msg=f"{net}.{key}")
    assert float(parts.model.mean_path_length) == pytest.approx(float(full.model.mean_path_length), rel=1e-4)
    logged = [(a["losses"], b["losses"]) for a, b in zip(full.history, parts.history) if "losses" in a]
    assert len(logged) == 4
    for a, b in logged:
        assert set(a) == set(b) and all(b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-5) for k in a), (a, b)


def test_batch_gpu_must_divide_the_batch(tiny_data, tmp_path):
    trainer = ResumableTrainer(tiny_cfg(tiny_data, tmp_path, ["model.batch_gpu=3", "total_iters=1"]))
    with pytest.raises(ConfigError, match="model.batch_gpu: 3 does not divide the batch of 4 per rank"):
        trainer.train()


def test_loader_items_are_uint8_and_scaled_on_the_device_to_the_same_numbers(tiny_data):
    """Workers hand uint8 images to the loader (a quarter of float32's bytes through /dev/shm); the model scales
    them on the device to exactly the float32 values of the former host-side conversion."""
    from ppgan_stylegan.core.images import load_rgb, reals_on_device, to_tensor_range
    from ppgan_stylegan.data.datasets import StyleGANImageFolder
    ds = StyleGANImageFolder(tiny_data, hflip=False)
    item = ds[3]
    assert item["A"].dtype == np.uint8 and item["A"].shape == (3, 8, 8) and item["A"].flags["C_CONTIGUOUS"]
    batch = paddle.io.DataLoader(ds, batch_size=4, shuffle=False, num_workers=1)
    images = next(iter(batch))["A"]
    assert images.dtype == paddle.uint8
    expected = np.stack([to_tensor_range(load_rgb(ds.paths[i])) for i in range(4)])
    np.testing.assert_array_equal(reals_on_device(images).numpy(), expected)
    np.testing.assert_array_equal(reals_on_device(paddle.to_tensor(expected)).numpy(), expected)  # floats pass
