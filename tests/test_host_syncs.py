"""GPU readiness, measured on the CPU: how often a training iteration waits for the device.

Every way a tensor's value reaches Python (``numpy``, ``bool``, ``float``, ``int``, ``item``, ``tolist``, ...) is
a host-device synchronisation on a GPU. They are counted here by instrumenting those methods (nested calls, e.g.
``bool`` -> ``numpy``, count once) while the real trainer runs; outside logging / snapshot / validation
iterations at most one per iteration may happen (the non-finite check, all phases' flags at once).
"""
import paddle
import pytest

from conftest import DEMO, noise_images, tiny
from test_progressive import TINY_V1, V1_DEMO
from ppgan_stylegan.bench.syncs import count_host_reads, count_uploads
from ppgan_stylegan.core.config import load_config
from ppgan_stylegan.engine import ResumableTrainer, seed_everything


def per_iteration_reads(tmp_path, overrides, iterations=12, data_size=8, counter=count_host_reads, config=DEMO,
                        base=None):
    """{iteration: reads during it} for a run where no iteration logs, saves or validates (``counter``: what is
    counted; ``base``: the config's first overrides, the tiny demo's by default)."""
    data = noise_images(tmp_path / "data", n=8, sizes=(data_size,))
    cfg = load_config(config, (tiny() if base is None else base) + [f"dataset.train.dataroot={data}", f"total_iters={iterations + 1}",
                                      "log_config.interval=100000", "log_config.visiual_interval=100000",
                                      "snapshot_config.interval=100000", "validate.interval=-1", *overrides])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path / "run")
    seed_everything(0)
    return reads_while_training(ResumableTrainer(cfg), counter)


def reads_while_training(trainer, counter=count_host_reads):
    """{iteration: reads during it} while ``trainer`` trains, the last iteration (the final checkpoint) left out."""
    model, reads = trainer.model, {}
    train_iter = model.train_iter
    with counter() as counts:
        def counted_iter(optimizers):
            before = sum(counts.values())
            train_iter(optimizers)
            reads[model.current_iter] = sum(counts.values()) - before
        model.train_iter = counted_iter
        trainer.train()
    reads.pop(trainer.total_iters, None)
    return reads


@pytest.mark.parametrize("overrides", [
    [],  # StyleGAN2: D, G, lazy R1 and path length (their intervals coincide at some iterations)
    ["model.r1_interval=1", "model.pl_interval=1"],  # all four optimizer steps every iteration
    ["model.augment={policy: 'color,translation', p: 0.2, target: 0.6, interval: 2, kimg: 1}"],  # ADA
], ids=["lazy", "every-step", "augment"])
def test_at_most_one_host_sync_per_iteration(tmp_path, overrides):
    reads = per_iteration_reads(tmp_path, overrides)
    assert len(reads) >= 10 and max(reads.values()) <= 1, reads


@pytest.mark.parametrize("config, overrides", [
    (DEMO, ["model.augment={policy: 'color,translation', p: 0.2, target: 0.6, interval: 2, kimg: 1}"]),  # aug_p
    (V1_DEMO, TINY_V1),  # StyleGAN (v1), progressive growing: kimg, lod and minibatch logged every iteration
], ids=["augment", "progressive"])
def test_no_host_to_device_copies_in_steady_iterations(tmp_path, config, overrides):
    """Once its FIR / selector matrices are cached (the first iterations at a resolution) an iteration uploads nothing
    from the host: logged values such as ADA's p or the schedule's lod stay Python numbers (they were one
    ``paddle.to_tensor`` each per iteration)."""
    uploads = per_iteration_reads(tmp_path, overrides, iterations=10, counter=count_uploads, config=config,
                                  base=tiny() if config == DEMO else [])
    last = [uploads[it] for it in sorted(uploads)[-4:]]
    assert len(uploads) >= 9 and last == [0, 0, 0, 0], uploads


def test_the_count_sees_a_read(tmp_path):
    """The instrument itself: a float() of a tensor is one read, nested conversions still one."""
    with count_host_reads() as counts:
        t = paddle.to_tensor([1.0, 2.0])
        float(t.sum()), bool((t > 0).all())
    assert sum(counts.values()) == 2


def test_nonfinite_flags_are_read_once_and_still_skip(tmp_path, monkeypatch):
    """An injected non-finite iteration: counted (its update skipped: with beta1 = 0 the weights stay), one read."""
    monkeypatch.setenv("PPGAN_STYLEGAN_FAULT_NONFINITE", "3")
    reads = per_iteration_reads(tmp_path, ["model.r1_interval=1", "model.pl_interval=1"], iterations=4)
    assert max(reads.values()) <= 1, reads


def test_in_place_writes_stay_on_the_device():
    """``write_`` (EMA, w_avg, gradient zeroing, lod): no host read on either Paddle (2.6's ``set_value`` of a
    tensor copies through numpy), and the written tensor is the same object, its value replaced."""
    from ppgan_stylegan.core.compat import write_

    layer = paddle.nn.Linear(3, 2)
    layer(paddle.ones([1, 3])).sum().backward()
    weight, grad = layer.weight, layer.weight.grad
    with count_host_reads() as counts:
        write_(weight, paddle.full([3, 2], 5.0))
        write_(layer.weight.grad, paddle.zeros([6]))  # reshaped to the target
        write_(layer.bias, paddle.ones([2], dtype="float64"))  # cast to the target
    assert sum(counts.values()) == 0, counts
    assert layer.weight is weight and (weight.numpy() == 5).all() and not weight.stop_gradient
    assert (layer.weight.grad.numpy() == 0).all() and (grad.numpy() == 0).all()
    assert layer.bias.dtype == paddle.float32 and (layer.bias.numpy() == 1).all()
