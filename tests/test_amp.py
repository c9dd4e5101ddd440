"""The mixed-precision path (``model.amp``) forced on the CPU.

On a GPU ``model.amp: true`` runs the GAN-loss phases under ``paddle.amp.auto_cast`` (float16) with a dynamic
``GradScaler`` per optimizer. Paddle switches both off on a CPU: "amp_guard can only be enabled on CUDAPlace,
XPUPlace, and CustomPlace ... so it makes no effect" (float16 and bfloat16 alike) and "AmpScaler can only be
enabled on CUDAPlace, XPUPlace and CustomPlace ... so it makes no effect". So what runs here is our side of the
path: the model built as on a GPU with its scalers enabled (the place check skipped), so every GAN-loss step
scales its loss by 2^15, backpropagates, unscales, checks for overflow and steps; the penalties stay outside; the
scale is in the logs and the checkpoint. The float16 arithmetic of autocast is not exercised (not measured: no
GPU). Scaling by powers of two is exact, so the weights must match a run without AMP.
"""
import numpy as np
import paddle

from conftest import DEMO, noise_images, tiny
from ppgan_stylegan.core.config import load_config
from ppgan_stylegan.engine import ResumableTrainer, seed_everything


class _AsOnAGPU:
    """What ``GradScaler.__init__`` asks the tracer: only whether the expected place is a GPU."""

    class _expected_place:
        is_gpu_place = staticmethod(lambda: True)
        is_xpu_place = staticmethod(lambda: False)
        is_custom_place = staticmethod(lambda: False)


def build(tmp_path, name, amp, monkeypatch, iterations=4, r1_interval=2):
    data = noise_images(tmp_path / "data", n=8)
    cfg = load_config(DEMO, tiny() + [f"dataset.train.dataroot={data}", f"total_iters={iterations}",
                                      "log_config.interval=1", "snapshot_config.interval=100000",
                                      "validate.interval=-1", f"model.r1_interval={r1_interval}",
                                      "model.pl_interval=2", f"model.amp={str(amp).lower()}"])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path / name)
    seed_everything(0)
    with monkeypatch.context() as m:
        if amp:  # build as on a GPU: model.amp stays on, the scalers are made and enabled
            m.setattr(paddle, "get_device", lambda: "gpu:0")
            m.setattr(paddle.amp.grad_scaler, "_dygraph_tracer", lambda: _AsOnAGPU())  # (its place check only)
        return ResumableTrainer(cfg)


def train(tmp_path, name, amp, monkeypatch, iterations=4):
    trainer = build(tmp_path, name, amp, monkeypatch, iterations)
    trainer.train()
    return trainer


def test_forced_amp_path_equals_float32_training(tmp_path, monkeypatch):
    plain = train(tmp_path, "plain", False, monkeypatch)
    amp = train(tmp_path, "amp", True, monkeypatch)
    assert plain.model.scalers == {} and set(amp.model.scalers) == {"optimG", "optimD"}
    for net in ("gen", "disc", "gen_ema"):
        ours, theirs = plain.model.nets[net].state_dict(), amp.model.nets[net].state_dict()
        for key, value in ours.items():
            np.testing.assert_allclose(theirs[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{net}.{key}")
    # the scalers really scaled (x 2^15 in the backward, unscaled before the step) and stayed on (Paddle's scaler
    # switches itself off for good if ``scale`` runs while the AMP dtype is not float16: we call it inside autocast)
    assert all(scaler._enable and scaler._use_dynamic_loss_scaling for scaler in amp.model.scalers.values())
    logged = [h["losses"] for h in amp.history if "losses" in h]
    assert len(logged) == 4 and all(np.isfinite(list(entry.values())).all() for entry in logged)
    assert logged[-1]["loss_scale_optimG"] == 2.0 ** 15 and logged[-1]["loss_scale_optimD"] == 2.0 ** 15
    state = amp.model.get_extra_state()
    assert set(state["scalers"]) == {"optimG", "optimD"}  # kept in checkpoints


def test_an_overflow_in_d_main_does_not_skip_the_r1_step(tmp_path, monkeypatch):
    """Paddle's scaler leaves its overflow flag on the optimizer; the unscaled lazy R1 step that follows must still
    update D (it was skipped: the flag made Adam drop the update)."""
    trainer = build(tmp_path, "overflow", True, monkeypatch, iterations=1, r1_interval=1)
    model = trainer.model
    model.scalers["optimD"]._scale = paddle.to_tensor(np.array(np.inf, "float32"))  # every scaled D step overflows
    runs, d_reg = [], model.d_reg

    def watched_d_reg(opt, batch):
        before = {k: v.numpy().copy() for k, v in model.nets["disc"].state_dict().items()}
        runs.append(opt._get_auxiliary_var("found_inf"))  # what the scaler left behind
        d_reg(opt, batch)
        runs.append(any(not np.array_equal(before[k], v.numpy()) for k, v in model.nets["disc"].state_dict().items()))

    model.d_reg = watched_d_reg
    trainer.train()
    assert len(runs) == 2 and bool(runs[0]), runs  # D main overflowed and the scaler flagged it
    assert runs[1], "the R1 step after the overflow left D unchanged"
