"""Class-conditional StyleGAN2 (NVlabs' design): networks that take labels, training on a dataset's labels (one
and two ranks, exact resume), generating a chosen class. Conversion parity with NVlabs' formulas is in
tests/test_convert.py."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from conftest import DEMO, class_images, into, losses_by_iteration, resume_matches, run_folders, run_script, tiny
from ppgan_stylegan.core.errors import ConfigError, UserError
from ppgan_stylegan.core.state import load_state
from ppgan_stylegan.models.labels import TrainingLabels, as_c
from ppgan_stylegan.networks import StyleGAN2Discriminator, StyleGAN2Generator

SMALL = dict(style_dim=16, n_mlp=2, channel_base=64, channel_max=16)


def test_labels_change_the_image_and_are_required():
    paddle.seed(0)
    gen = StyleGAN2Generator(16, c_dim=3, **SMALL)
    disc = StyleGAN2Discriminator(16, channel_base=64, channel_max=16, c_dim=3)
    z = paddle.randn([2, 16])
    a, _ = gen([z], noise="const", c=gen.one_hot([0, 0]))
    b, _ = gen([z], noise="const", c=gen.one_hot([2, 2]))
    assert float((a - b).abs().max()) > 1e-3
    assert float((disc(a, gen.one_hot([0, 0])) - disc(a, gen.one_hot([1, 1]))).abs().max()) > 0
    with pytest.raises(ValueError, match="c_dim=3: labels c"):
        gen([z])
    with pytest.raises(ValueError, match="c_dim=3: labels c"):
        disc(a)
    with pytest.raises(ConfigError, match="class 3: this generator has classes 0-2"):
        gen.one_hot([3])
    assert gen.mean_latent(64).shape == [1, 16]  # (over uniformly drawn classes)


def test_training_labels_are_checked_and_drawn_from_the_data():
    labels = TrainingLabels(2)
    with pytest.raises(ConfigError, match="c_dim is 2 but dataset has no labels"):
        labels.set_pool(None)
    with pytest.raises(ConfigError, match="classes 0..2 do not fit model.generator.c_dim 2"):
        labels.set_pool(np.array([0, 1, 2]))
    labels.set_pool(np.array([1, 1, 1, 0]))
    paddle.seed(0)
    drawn = labels.draw(4000).numpy()
    assert drawn.shape == (4000, 2) and abs(drawn[:, 1].mean() - 0.75) < 0.03  # the data's class balance
    assert TrainingLabels(0).draw(4) is None and TrainingLabels(0).of_batch(None) is None
    with pytest.raises(ConfigError, match="do not fit c_dim 2"):
        as_c(np.zeros([3, 5], "float32"), 2, "dataset")


def cond_args(data, extra=()):
    sizes = {"model.generator.size": 16, "model.discriminator.size": 16}
    return ["-c", DEMO, "-o", *tiny(sizes), f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
            "dataset.train.labels=folders", "dataset.test.labels=folders", "model.generator.c_dim=2",
            "model.discriminator.c_dim=2", "model.discriminator.mapping_layers=2", "model.mixing_prob=0.9",
            *extra, "--seed", "4"]


@pytest.mark.slow
def test_conditional_training_resumes_exactly_learns_labels_and_generates_each_class(tmp_path):
    data = class_images(tmp_path / "data")
    straight, _ = resume_matches(cond_args(data), tmp_path, total=20, split_at=10)
    early = load_state(os.path.join(straight, "iter_2_weight.pdparams"))
    late = load_state(os.path.join(straight, "iter_20_weight.pdparams"))
    for net, key in (("gen", "embed.weight"), ("disc", "mapping.embed.weight"), ("disc", "mapping.layers.1.weight")):
        assert np.abs(np.asarray(early[net][key]) - np.asarray(late[net][key])).max() > 0, (net, key)
    log = open(os.path.join(straight, "log.txt")).read()
    assert "2 classes" in log and "l_d_r1" in log and "l_g_path" in log
    for k in (0, 1):
        out = run_script("applications/generate.py", "--weights", straight, "--seeds", "0-3", "--class", k,
                         *into(tmp_path / f"class{k}"))
        assert out.returncode == 0, out.stderr[-2000:]
        assert os.path.isfile(tmp_path / f"class{k}" / "seeds.png")
    missing = run_script("applications/generate.py", "--weights", straight, "--seeds", "0", *into(tmp_path / "x"))
    assert missing.returncode == 2 and "give --class K" in missing.stderr and "Traceback" not in missing.stderr
    out = run_script("tools/export.py", "--weights", straight, "--check-seeds", "0-3", *into(tmp_path / "export"))
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.slow
def test_conditional_training_on_two_ranks_keeps_replicas_identical(tmp_path):
    data = class_images(tmp_path / "data")
    args = [a for a in cond_args(data) if a not in ("--seed", "4")]
    out = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                          str(tmp_path / "launch"), os.path.join(os.path.dirname(DEMO), "..", "tools", "main.py"),
                          *args, "dataset.train.batch_size=2", "total_iters=20", f"output_dir={tmp_path / 'two'}",
                          "--check-replicas", "1"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = open(tmp_path / "launch" / "workerlog.0").read()
    assert out.returncode == 0, out.stdout[-2000:] + log[-3000:]
    for it in range(1, 21):  # (R1 and path length every 2nd iteration, style mixing 0.9)
        assert f"iteration {it}: 2 replica(s) identical" in log
    assert len(run_folders(tmp_path / "two")) == 1


def test_unconditional_generators_refuse_a_class_in_one_line(tmp_path):
    gen = StyleGAN2Generator(16, **SMALL)
    path = str(tmp_path / "g.pdparams")
    paddle.save(gen.state_dict(), path)
    from ppgan_stylegan.apps import ImageGenerator
    with pytest.raises(UserError, match="an unconditional generator: --class"):
        ImageGenerator(path, output_dir=str(tmp_path / "out"), label=1)


def test_stylegan1_networks_take_labels_as_nvidia_builds_them():
    """G_mapping with ``label_size``: labels @ weight [label_size, latent] concatenated with z before the pixel norm
    (Dense0 takes twice the latent width); D_basic's per-label scores selected by the labels."""
    from ppgan_stylegan.networks import StyleGANDiscriminator, StyleGANGenerator
    from ppgan_stylegan.networks.families import STYLEGAN1
    plain, labelled = StyleGANGenerator(size=64), StyleGANGenerator(size=64, label_size=10)
    count = lambda net: sum(int(p.numel()) for p in net.parameters())  # noqa: E731
    assert count(labelled) - count(plain) == 10 * 512 + 512 * 512  # LabelConcat + the wider Dense0
    gen = StyleGANGenerator(size=16, style_dim=16, n_mlp=2, fmap_base=64, fmap_max=16, label_size=3)
    disc = StyleGANDiscriminator(size=16, fmap_base=64, fmap_max=16, label_size=3)
    z, c = paddle.randn([3, 16]), gen.one_hot([0, 1, 2])
    image, _ = gen([z], c=c)
    x = paddle.concat([z, paddle.matmul(c, gen.embed)], axis=1)
    x = x / paddle.sqrt((x * x).mean(axis=1, keepdim=True) + 1e-8)
    for layer in list(gen.style)[1:]:
        x = layer(x)
    assert float((gen.get_latent(z, c) - x).abs().max()) < 1e-5
    assert disc(image, c).shape == [3, 1] and STYLEGAN1.generator_kwargs(gen.state_dict())["label_size"] == 3


def test_metrics_per_class_and_over_all(tmp_path):
    from ppgan_stylegan.apps.metrics import MetricsRunner
    paddle.seed(1)
    data = class_images(tmp_path / "real", n=6)
    gen = StyleGAN2Generator(16, c_dim=2, **SMALL)
    path = str(tmp_path / "g.pdparams")
    paddle.save(gen.state_dict(), path)
    app = MetricsRunner(path, output_dir=str(tmp_path / "m"))
    results = app.run(["swd"], real=data, num=8, per_class=True, real_labels="folders")
    assert set(results) == {"swd_x1e3", "swd_x1e3_class0", "swd_x1e3_class1"}
    assert len({round(v, 6) for v in results.values()}) == 3 and all(v > 0 for v in results.values())
    one = MetricsRunner(path, output_dir=str(tmp_path / "k"), label=1).run(["swd"], real=data, num=8,
                                                                            real_labels="folders")
    assert abs(one["swd_x1e3"] - results["swd_x1e3_class1"]) < 1e-9  # --class 1: class 1 against its own reals
    plain = str(tmp_path / "plain.pdparams")
    paddle.save(StyleGAN2Generator(16, **SMALL).state_dict(), plain)
    with pytest.raises(UserError, match="--per-class needs a class-conditional generator"):
        MetricsRunner(plain, output_dir=str(tmp_path / "p")).run(["swd"], real=data, num=8, per_class=True)


@pytest.mark.slow
def losses_by_iteration_list(run):
    return [{"losses": v} for v in losses_by_iteration(run).values()]


def test_stylegan1_conditional_grows_and_generates_each_class(tmp_path):
    """StyleGAN (v1) with NVIDIA's label_size through progressive growing (the minibatch's reals keep their labels)."""
    data = class_images(tmp_path / "data", size=16)
    v1 = os.path.join(os.path.dirname(DEMO), "stylegan_v1_demo.yaml")
    args = ["-c", v1, "-o", f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
            "dataset.train.labels=folders", "dataset.test.labels=folders", "model.generator.size=16",
            "model.discriminator.size=16", "model.generator.style_dim=16", "model.generator.n_mlp=2",
            "model.generator.label_size=2", "model.discriminator.label_size=2", "dataset.train.batch_size=4",
            "model.progressive.minibatch_base=4", "model.progressive.lod_training_kimg=0.008",
            "model.progressive.lod_transition_kimg=0.008", "total_iters=8", "snapshot_config.interval=4",
            "log_config.interval=1", "validate.interval=-1", f"output_dir={tmp_path / 'run'}"]
    out = run_script("tools/main.py", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    (run,) = run_folders(tmp_path / "run")
    assert "2 classes" in open(os.path.join(run, "log.txt")).read()
    lods = {h["losses"]["lod"] for h in losses_by_iteration_list(run)}
    assert min(lods) == 0.0 and max(lods) == 1.0, lods  # it grew from 8 px (lod 1) to 16 px (lod 0)
    for k in (0, 1):
        gen = run_script("applications/generate.py", "--weights", run, "--seeds", "0-1", "--class", k,
                         *into(tmp_path / f"g{k}"))
        assert gen.returncode == 0, gen.stderr[-2000:]


def test_truncation_moves_towards_the_global_or_the_class_average(tmp_path):
    """psi 0 gives the centre itself: the tracked w_avg (NVlabs), or with --trunc-centre class the class's mean W."""
    from ppgan_stylegan.apps import ImageGenerator
    paddle.seed(2)
    gen = StyleGAN2Generator(16, c_dim=2, **SMALL)
    gen.update_w_avg(paddle.full([1, 16], 0.3), beta=0.0)
    path = str(tmp_path / "g.pdparams")
    paddle.save(gen.state_dict(), path)
    glob_app = ImageGenerator(path, output_dir=str(tmp_path / "a"), label=1)
    class_app = ImageGenerator(path, output_dir=str(tmp_path / "b"), label=1, trunc_centre="class")
    at_global = glob_app.w_from_seeds([0, 1], psi=0.0).numpy()
    at_class = class_app.w_from_seeds([0, 1], psi=0.0).numpy()
    assert np.allclose(at_global, 0.3)
    centre = class_app.truncation_centre().numpy()[0]
    assert np.allclose(at_class, centre[None, None], atol=1e-6) and np.abs(centre - 0.3).max() > 1e-2
    with pytest.raises(UserError, match="give --class K"):
        ImageGenerator(path, output_dir=str(tmp_path / "c"), trunc_centre="class", label=None)
