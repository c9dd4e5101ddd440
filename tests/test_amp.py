"""Mixed precision (``model.amp``) forced on the CPU.

On a GPU ``model.amp: true`` runs the GAN-loss phases with the networks' float16 blocks (the ``amp_resolutions``
highest resolutions, NVlabs' ``num_fp16_res``; ops/precision.py), every conv output clamped to ``conv_clamp`` (256),
and a device-side dynamic loss scale per optimizer (models/loss_scale.py). Paddle runs no float16 kernel on a CPU
and switches autocast off there ("amp_guard can only be enabled on CUDAPlace, XPUPlace, and CustomPlace ... so it
makes no effect"). What runs here is everything but the float16 arithmetic: the model built as on a GPU, and
Paddle's autocast guard told that the place is a GPU, so each float16 block really sets the tracer to O1 (with its
float16 op list) and each float32 part to O0 while CPU tensors stay float32. Every GAN-loss step scales its loss
by 2^15, unscales, checks for overflow on the device and steps. Scaling by powers of two is exact, so the weights
must match a run without AMP. The float16 arithmetic itself is not measured (no GPU).
"""
import numpy as np
import paddle
import pytest

from conftest import DEMO, noise_images, tiny
from test_host_syncs import reads_while_training
from ppgan_stylegan.core.config import load_config
from ppgan_stylegan.engine import ResumableTrainer, seed_everything
from ppgan_stylegan.networks.blocks import StyledConv, ToRGB
from ppgan_stylegan.networks.discriminators.stylegan2 import ConvLayer
from ppgan_stylegan.ops import float16_min_resolution, mixed_precision
from ppgan_stylegan.ops import modulated_conv
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator

SIZE16 = {"model.generator.size": 16, "model.discriminator.size": 16}


def amp_level():
    return str(paddle.base.framework._dygraph_tracer()._amp_level).rsplit(".", 1)[-1]


def build(tmp_path, name, amp, monkeypatch, iterations=4, r1_interval=2, extra=()):
    data = noise_images(tmp_path / "data", n=8, sizes=(16,))
    cfg = load_config(DEMO, tiny(SIZE16) + [f"dataset.train.dataroot={data}", f"total_iters={iterations}",
                                            "log_config.interval=1", "snapshot_config.interval=100000",
                                            "validate.interval=-1", f"model.r1_interval={r1_interval}",
                                            "model.pl_interval=2", f"model.amp={str(amp).lower()}", *extra])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path / name)
    seed_everything(0)
    with monkeypatch.context() as m:
        if amp:  # build as on a GPU: model.amp stays on, the networks' precision and the loss scalers are set
            m.setattr(paddle, "get_device", lambda: "gpu:0")
        return ResumableTrainer(cfg)


def train(tmp_path, name, amp, monkeypatch, iterations=4):
    trainer = build(tmp_path, name, amp, monkeypatch, iterations)
    trainer.train()
    return trainer


def test_forced_amp_path_equals_float32_training(tmp_path, monkeypatch, autocast_on_cpu):
    plain = train(tmp_path, "plain", False, monkeypatch)
    amp = train(tmp_path, "amp", True, monkeypatch)
    assert plain.model.scalers == {} and set(amp.model.scalers) == {"optimG", "optimD"}
    for net in ("gen", "disc", "gen_ema"):
        ours, theirs = plain.model.nets[net].state_dict(), amp.model.nets[net].state_dict()
        for key, value in ours.items():
            np.testing.assert_allclose(theirs[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{net}.{key}")
        assert amp.model.nets[net].conv_clamp == 256 and plain.model.nets[net].conv_clamp is None
    logged = [h["losses"] for h in amp.history if "losses" in h]
    assert len(logged) == 4 and all(np.isfinite(list(entry.values())).all() for entry in logged)
    assert logged[-1]["loss_scale_optimG"] == 2.0 ** 15 and logged[-1]["loss_scale_optimD"] == 2.0 ** 15
    state = amp.model.get_extra_state()
    assert set(state["scalers"]) == {"optimG", "optimD"} and state["scalers"]["optimD"]["incr_count"] == 4


def test_an_overflow_skips_the_scaled_step_but_not_the_r1_step_after_it(tmp_path, monkeypatch, autocast_on_cpu):
    """An overflow in D main (its scale forced to infinity) on an R1 iteration: the main step leaves D as it was
    and halves the scale; the unscaled lazy R1 step right after it still changes D (Paddle's ``GradScaler``
    left its overflow flag on the optimizer, and Adam then dropped that step too)."""
    trainer = build(tmp_path, "overflow", True, monkeypatch, iterations=1, r1_interval=1)
    model, snapshots = trainer.model, {}
    model.scalers["optimD"].scale_tensor.set_value(paddle.full([], np.inf))
    d_main, d_reg = model.d_main, model.d_reg

    def weights():
        return {k: v.numpy().copy() for k, v in model.nets["disc"].state_dict().items()}

    def watched(fn, name):
        def run(opt, batch):
            snapshots[name] = weights()
            fn(opt, batch)
            snapshots[name + " after"] = weights()
        return run

    model.d_main, model.d_reg = watched(d_main, "main"), watched(d_reg, "r1")
    trainer.train()
    changed = lambda a, b: [k for k in a if not np.array_equal(a[k], b[k])]  # noqa: E731
    assert changed(snapshots["main"], snapshots["main after"]) == [], "the overflowed step changed D"
    assert changed(snapshots["r1"], snapshots["r1 after"]), "the R1 step after the overflow left D unchanged"
    assert model.nonfinite_total == 0  # an overflow is the scaler's business, not a non-finite iteration


def test_loss_scale_grows_after_clean_steps_and_halves_on_overflow():
    from ppgan_stylegan.models.loss_scale import LossScaler

    scaler, layer = LossScaler(init_scale=8.0, growth_interval=3), paddle.nn.Linear(2, 1)
    seen = []
    for x in [1.0, 1.0, 1.0, np.inf, 1.0]:
        layer.clear_gradients()
        scaler.scale(layer(paddle.full([1, 2], x)).sum()).backward()
        ok = scaler.unscale(layer.parameters())
        scaler.update(ok)
        seen.append((bool(ok), float(scaler.scale_tensor)))
    assert seen == [(True, 8.0), (True, 8.0), (True, 16.0), (False, 8.0), (True, 8.0)]
    np.testing.assert_allclose(layer.bias.grad.numpy(), [1.0])  # unscaled: d(sum)/d(bias)
    restored = LossScaler()
    restored.load_state_dict(scaler.state_dict())
    assert restored.state_dict() == scaler.state_dict() and restored.state_dict()["incr_count"] == 1


def test_one_host_read_per_iteration_with_amp(tmp_path, monkeypatch, autocast_on_cpu):
    """The overflow checks and the scale updates stay on the device: the iteration's one read (the non-finite
    flags) is all, as without AMP (Paddle's ``GradScaler`` read its flag in ``update``, and its Adam kernels copy
    ``found_inf`` to the host once per parameter)."""
    trainer = build(tmp_path, "reads", True, monkeypatch, iterations=9, r1_interval=1,
                    extra=["log_config.interval=100000", "log_config.visiual_interval=100000"])
    reads = reads_while_training(trainer)
    assert len(reads) == 8 and max(reads.values()) <= 1, reads


@pytest.mark.parametrize("size, count, expected", [(1024, 4, 128), (256, 4, 32), (32, 4, 8), (16, 1, 16), (64, 0, None)])
def test_float16_resolutions_follow_nvlabs(size, count, expected):
    """``max(2 ** (log2(size) + 1 - num_fp16_res), 8)``: the 4 highest resolutions, never below 8 px."""
    assert float16_min_resolution(size, count) == (expected if expected else np.inf)
    G = StyleGAN2Generator(size, style_dim=8, n_mlp=1, channel_base=32, channel_max=8)
    G.configure_precision(count)
    assert [r for r, dtype in G.precision_plan().items() if dtype == "float16"] == \
        ([r for r in G.precision_plan() if r >= expected] if expected else [])


def test_float16_only_where_configured(autocast_on_cpu, monkeypatch):
    """With mixed precision on, each layer runs under the AMP level its resolution asks for: O1 (with
    ``conv2d_transpose`` on the float16 list) in the 16 px blocks of G and D, O0 for the mapping network, the
    affine styles, the demodulation sums, the RGB image, the 4 and 8 px blocks and D's epilogue."""
    G = StyleGAN2Generator(16, style_dim=8, n_mlp=2, channel_base=64, channel_max=8)
    D = StyleGAN2Discriminator(16, channel_base=64, channel_max=8)
    for net in (G, D):
        net.configure_precision(1, 256)
    levels = []

    def record(name):
        def hook(layer, inputs):
            white = autocast_on_cpu._get_amp_op_list()[0]
            levels.append((name(layer), amp_level(), "conv2d_transpose" in white))
        return hook

    where = {}
    for prefix, net in (("G", G), ("D", D)):
        for key, layer in net.named_sublayers():
            where[id(layer)] = f"{prefix}.{key}"
            if isinstance(layer, (StyledConv, ConvLayer)) or key.startswith("style.") or key.endswith("modulation"):
                layer.register_forward_pre_hook(record(lambda layer: where[id(layer)]))
    demod = modulated_conv.demod_coefficients
    monkeypatch.setattr(modulated_conv, "demod_coefficients",
                        lambda *a: levels.append(("demod", amp_level(), None)) or demod(*a))
    add_skip = ToRGB.add_skip
    monkeypatch.setattr(ToRGB, "add_skip", lambda self, *a: levels.append(("rgb", amp_level(), None)) or
                        add_skip(self, *a))
    with mixed_precision(True):
        image, _ = G([paddle.randn([2, 8])])
        D(image)
    float16 = {name for name, level, _ in levels if level == "O1"}
    expected = {"G.convs.2", "G.convs.3", "D.convs.0", "D.convs.1.conv1", "D.convs.1.conv2", "D.convs.1.skip"}
    assert float16 == expected, sorted(float16)
    assert all(white for name, level, white in levels if level == "O1")
    assert {"G.style.1", "G.conv1", "G.convs.0", "G.convs.1", "D.final_conv", "D.convs.2.conv1", "demod",
            "rgb"} <= {name for name, level, _ in levels if level == "O0"}
    assert amp_level() == "O0"  # nothing left on after the forward


def test_conv_clamp_bounds_every_conv_output():
    """``conv_clamp`` clips each conv layer's output (after the gained activation), as NVlabs; 256 leaves a
    normal forward unchanged."""
    G = StyleGAN2Generator(16, style_dim=8, n_mlp=1, channel_base=64, channel_max=8)
    D = StyleGAN2Discriminator(16, channel_base=64, channel_max=8)
    z = paddle.randn([2, 8])
    plain_image, _ = G([z], noise="const")
    plain_score = D(plain_image)
    outputs = []
    for net in (G, D):
        for layer in net.sublayers():
            if isinstance(layer, (StyledConv, ConvLayer)):
                layer.register_forward_post_hook(lambda layer, inputs, out: outputs.append(float(out.abs().max())))
    for net in (G, D):
        net.configure_precision(4, 256)
    image, _ = G([z], noise="const")
    np.testing.assert_array_equal(image.numpy(), plain_image.numpy())
    np.testing.assert_array_equal(D(image).numpy(), plain_score.numpy())
    assert max(outputs) > 0.05
    outputs.clear()
    for net in (G, D):
        net.configure_precision(4, 0.0625)
    D(G([z], noise="const")[0])
    assert len(outputs) == 13 and max(outputs) <= 0.0625, outputs
