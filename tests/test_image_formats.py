"""Images as users have them: 1 / 3 / 4 channels and non-square sizes, from the files to the networks, training,
the applications and export."""
import os

import numpy as np
import paddle
import pytest
from PIL import Image

from conftest import DEMO, ROOT, into, only_run, resume_matches, run_script, tiny
from ppgan_stylegan.core.checks import check_image_shape
from ppgan_stylegan.core.errors import ConfigError, UserError
from ppgan_stylegan.core.images import (array_of, channels_of, fit_image, grid, read_image, save_png,
                                        three_channels)
from ppgan_stylegan.data import StyleGANImageFolder
from ppgan_stylegan.data.prepare import prepare_demo, prepare_folder
from ppgan_stylegan.networks import StyleGAN2Discriminator, StyleGAN2Generator
from ppgan_stylegan.networks.encoders import require_square_rgb
from ppgan_stylegan.networks.families import STYLEGAN1, STYLEGAN2

SMALL = dict(style_dim=16, n_mlp=1, channel_base=64, channel_max=16)
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def write_images(folder, mode, n=8, size=(8, 8), seed=0):
    """``n`` PNGs of PIL ``mode`` (``I;16``: 16-bit grayscale) and ``size`` (H, W) with smooth content."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        base = np.clip(np.sin(xx * (0.3 + 0.1 * i)) * 100 + yy * 10 + rng.randint(0, 40, (h, w)), 0, 255)
        if mode == "I;16":
            img = Image.fromarray((base * 257).astype(np.uint16))
        elif mode == "L":
            img = Image.fromarray(base.astype(np.uint8))
        else:
            planes = [base, base[::-1], 255 - base, np.where(xx < w // 2, 255, 80)][:len(mode)]
            img = Image.fromarray(np.stack(planes, -1).astype(np.uint8), mode)
        img.save(os.path.join(folder, f"img_{i:02d}.png"))
    return str(folder)


# ------------------------------------------------------------------------------------------------ files
def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as img:
        assert channels_of(img) == 1
        grey = array_of(img, 1)
    assert grey.shape == (1, 4, 1) and grey[0, :, 0].tolist() == [0, 1, 128, 255]
    assert read_image(str(tmp_path / "g16.png"), 3)[0, 2].tolist() == [128] * 3


def test_channels_of_and_conversions_keep_what_the_file_has(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 200, [[0, 255], [128, 255]]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as img:
        assert channels_of(img) == 4
        assert np.array_equal(array_of(img, 4), rgba)
        rgb = array_of(img, 3)  # composited on black
        grey = array_of(img, 1)
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 1].tolist() == [200] * 3 and grey.shape == (2, 2, 1)
    Image.fromarray(np.full((2, 2), 9, np.uint8)).save(tmp_path / "l.png")
    with Image.open(tmp_path / "l.png") as img:
        assert channels_of(img) == 1 and array_of(img, 4)[0, 0].tolist() == [9, 9, 9, 255]


def test_pngs_and_grids_are_written_as_l_rgb_rgba(tmp_path):
    for channels, mode in MODES.items():
        images = np.random.RandomState(channels).uniform(-1, 1, (3, channels, 4, 6)).astype("float32")
        mosaic = grid(images, nrow=3)
        assert mosaic.shape[:2] == (6, 22)  # 1 px borders: non-square tiles keep their shape
        with Image.open(save_png(mosaic, str(tmp_path / f"g{channels}.png"))) as img:
            assert img.mode == mode and img.size == (22, 6)


def test_three_channels_for_feature_networks():
    grey = paddle.to_tensor(np.full([1, 1, 2, 2], 0.5, "float32"))
    assert three_channels(grey).shape == [1, 3, 2, 2] and float(three_channels(grey).min()) == 0.5
    rgba = np.zeros([1, 4, 1, 2], "float32")
    rgba[0, 3] = [[-1.0, 1.0]]  # transparent, opaque
    out = three_channels(paddle.to_tensor(rgba)).numpy()
    assert np.allclose(out[0, :, 0, 0], 1.0) and np.allclose(out[0, :, 0, 1], 0.0)  # white behind


def test_fit_image_crops_or_pads_to_the_aspect():
    arr = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    assert fit_image(arr, (4, 4), "crop").tolist() == arr[1:5].tolist()  # the centred 4x4, no resize
    padded = fit_image(arr, (8, 16), "pad")  # the 6x4 image in a 6x12 canvas, resized to 8x16
    assert padded.shape == (8, 16, 3) and padded[:, :2].max() == 0 and padded[:, -2:].max() == 0
    assert fit_image(arr[..., :1], (2, 4), "crop").shape == (2, 4, 1)


def test_image_shapes_are_checked_in_one_line():
    assert check_image_shape(32) == (32, 32) and check_image_shape([32, 64]) == (32, 64)
    for bad in ([32, 48], [16, 128], [32], "32", [4, 8]):
        with pytest.raises(ConfigError, match="size: expected a power of two"):
            check_image_shape(bad)


# ------------------------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("size", [16, [16, 32], [32, 8]])
@pytest.mark.parametrize("channels", [1, 4])
def test_networks_take_channels_and_shape_and_are_read_back_from_their_weights(size, channels):
    gen = StyleGAN2Generator(size=size, img_channels=channels, **SMALL)
    disc = StyleGAN2Discriminator(size=size, img_channels=channels, channel_base=64, channel_max=16)
    height, width = check_image_shape(size)
    for noise in ("random", "const", gen.make_noise()):
        image, _ = gen([paddle.randn([2, 16])], noise=noise)
        assert image.shape == [2, channels, height, width]
    assert gen.input.input.shape[2:] == [4 * height // min(height, width), 4 * width // min(height, width)]
    assert disc(image).shape == [2, 1]
    with pytest.raises(AssertionError, match="expected"):
        disc(paddle.zeros([2, 3, height, width]))
    kwargs = STYLEGAN2.generator_kwargs(gen.state_dict())
    assert kwargs["img_channels"] == channels and check_image_shape(kwargs["size"]) == (height, width)
    rebuilt = StyleGAN2Generator(**kwargs)
    rebuilt.set_state_dict(gen.state_dict())
    same = rebuilt([paddle.ones([1, 16])], noise="const")[0] - gen([paddle.ones([1, 16])], noise="const")[0]
    assert float(same.abs().max()) == 0
    if height == width:
        assert STYLEGAN2.discriminator_kwargs(disc.state_dict())["img_channels"] == channels
    else:  # 4x8 or 8x4: the discriminator's shapes cannot tell which
        with pytest.raises(UserError, match="non-square discriminator"):
            STYLEGAN2.discriminator_kwargs(disc.state_dict())


def test_psp_refuses_non_square_or_non_rgb_generators_in_one_line():
    require_square_rgb(StyleGAN2Generator(size=16, **SMALL), "weights")
    for kwargs in (dict(size=[16, 32]), dict(size=16, img_channels=1), dict(size=16, c_dim=2)):
        with pytest.raises(UserError, match="inverts unconditional square RGB generators"):
            require_square_rgb(StyleGAN2Generator(**kwargs, **SMALL), "weights")


def test_stylegan1_networks_take_channels():
    gen = STYLEGAN1.generator(size=16, style_dim=16, n_mlp=1, fmap_base=64, fmap_max=16, num_channels=1)
    disc = STYLEGAN1.discriminator(size=16, fmap_base=64, fmap_max=16, num_channels=1)
    image, _ = gen([paddle.randn([2, 16])])
    assert image.shape == [2, 1, 16, 16] and disc(image).shape == [2, 1]
    assert STYLEGAN1.generator_kwargs(gen.state_dict())["num_channels"] == 1
    assert STYLEGAN1.discriminator_kwargs(disc.state_dict())["num_channels"] == 1
    with pytest.raises(ConfigError, match="num_channels: expected 1"):
        STYLEGAN1.generator(size=16, num_channels=2)


# ------------------------------------------------------------------------------------------------ data
@pytest.mark.parametrize("modes, expected", [(["L"], 1), (["I;16"], 1), (["RGBA"], 4), (["L", "RGB"], 3),
                                             (["RGB", "RGBA"], 4)])
def test_dataset_keeps_the_images_channels(tmp_path, modes, expected):
    for i, mode in enumerate(modes):
        write_images(tmp_path / f"part{i}", mode, n=4, seed=i)
    ds = StyleGANImageFolder(str(tmp_path), hflip=False, size=8)
    assert ds.channels == expected and ds.data_channels == expected
    assert all(ds[i]["A"].shape == (expected, 8, 8) and ds[i]["A"].dtype == np.uint8 for i in range(len(ds)))
    converted = StyleGANImageFolder(str(tmp_path), hflip=False, size=8, channels=3)
    assert converted[0]["A"].shape == (3, 8, 8)


def test_dataset_channels_or_shape_not_matching_the_config_is_one_line(tmp_path):
    data = write_images(tmp_path / "grey", "L", n=4, size=(8, 16))
    StyleGANImageFolder(data, size=[8, 16], model_channels=[1, "model.generator.img_channels"])
    with pytest.raises(ConfigError) as e:
        StyleGANImageFolder(data, size=[8, 16], model_channels=[3, "model.generator.img_channels"])
    message = str(e.value)
    assert "grayscale images (1 channel(s)) but model.generator.img_channels is 3" in message
    assert "dataset.train.channels: 3" in message and "\n" not in message
    with pytest.raises(ConfigError, match=r"are 16x8, the config needs 8x16 \(width x height"):
        StyleGANImageFolder(data, size=[16, 8])
    with pytest.raises(ConfigError, match="dataset.channels: expected one of"):
        StyleGANImageFolder(data, channels=2)


def test_prepare_writes_channels_sizes_and_fits(tmp_path):
    src = write_images(tmp_path / "src", "RGBA", n=3, size=(12, 20))
    assert prepare_folder(src, str(tmp_path / "wide"), (8, 16), fit="pad") == 3
    with Image.open(tmp_path / "wide" / "000000.png") as img:
        assert img.mode == "RGBA" and img.size == (16, 8)  # auto: the alpha is kept
    prepare_folder(src, str(tmp_path / "grey.zip"), 8, channels="1")
    ds = StyleGANImageFolder(str(tmp_path / "grey.zip"), size=8)
    assert ds.channels == 1 and len(ds) == 3
    prepare_demo(str(tmp_path / "demo"), (16, 32), channels=1)
    with Image.open(tmp_path / "demo" / "face_000.png") as img:
        face = np.asarray(img)
    assert img.mode == "L" and face.shape == (16, 32) and face[:, :4].max() == 0  # padded: black bars
    out = run_script("tools/prepare_dataset.py", "--src", src, "--dst", tmp_path / "bad", "--size", "8", "24")
    assert out.returncode != 0 and "--size: expected a power of two" in out.stderr and "Traceback" not in out.stderr


# ------------------------------------------------------------------------------------------------ end to end
@pytest.mark.slow
@pytest.mark.parametrize("channels", [1, 4])
def test_grey_and_rgba_train_with_regularisers_resume_exactly_and_generate(tmp_path, channels):
    data = write_images(tmp_path / "data", MODES[channels], n=12)
    keys = [f"model.generator.img_channels={channels}", f"model.discriminator.img_channels={channels}"]
    args = ["-c", DEMO, "-o", *tiny({"log_config.visiual_interval": 10}), *keys, f"dataset.train.dataroot={data}",
            f"dataset.test.dataroot={data}", "--seed", "3"]
    straight, _ = resume_matches(args, tmp_path, total=20, split_at=10)
    history = open(os.path.join(straight, "log.txt")).read()
    assert f"{'grayscale' if channels == 1 else 'RGBA'}," in history  # the dataset's log line
    with Image.open(os.path.join(straight, "visual_train", "iter020_samples_ema.png")) as img:
        assert img.mode == MODES[channels]
    out = run_script("applications/generate.py", "--weights", straight, "--seeds", "0-1", "--per-seed",
                     *into(tmp_path / "gen"))
    assert out.returncode == 0, out.stderr[-2000:]
    with Image.open(tmp_path / "gen" / "seed0000.png") as img:
        assert img.mode == MODES[channels] and img.size == (8, 8)
    out = run_script("tools/export.py", "--weights", straight, "--check-seeds", "0,1", *into(tmp_path / "export"))
    assert out.returncode == 0 and f"8x8 px, {channels} channel(s)" in out.stdout, out.stdout + out.stderr[-2000:]
    with Image.open(tmp_path / "export" / "generator_check.png") as img:
        assert img.mode == MODES[channels]
    wrong = run_script("tools/main.py", "-c", DEMO, "-o", *tiny(), f"dataset.train.dataroot={data}",
                       f"dataset.test.dataroot={data}", "total_iters=1", cwd=tmp_path)
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert "but model.generator.img_channels is 3" in wrong.stderr.strip().splitlines()[-1]
    half = run_script("tools/main.py", "-c", DEMO, "-o", *tiny(), f"dataset.train.dataroot={data}",
                      f"dataset.test.dataroot={data}", "total_iters=1", keys[0], cwd=tmp_path)
    assert half.returncode != 0 and "Traceback" not in half.stderr
    assert half.stderr.strip().splitlines()[-1].endswith(
        f"model.generator.img_channels is {channels} but model.discriminator.img_channels is 3: they must be equal")


@pytest.mark.slow
def test_non_square_demo_variant_trains_resumes_generates_mixes_projects_and_exports(tmp_path):
    config = os.path.join(ROOT, "configs", "stylegan_v2_demo_32x64.yaml")
    data = str(tmp_path / "demo-64x32")
    prepare_demo(data, (32, 64))
    small = {"model.generator.size": None, "model.discriminator.size": None}
    args = ["-c", config, "-o", *tiny(small), f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
            "--seed", "5"]
    straight, _ = resume_matches(args, tmp_path, total=6, split_at=4)
    for app, extra in [("generate", ["--seeds", "0-3"]), ("style_mixing", ["--rows", "0-1", "--cols", "2-3"]),
                       ("edit", ["--seed", "1", "--sefa", "0", "--steps", "3"])]:
        out = run_script(f"applications/{app}.py", "--weights", straight, *extra, *into(tmp_path / app))
        assert out.returncode == 0, (app, out.stderr[-2000:])
        pngs = [f for f in os.listdir(tmp_path / app) if f.endswith(".png")]
        assert pngs, app
        for name in pngs:
            with Image.open(tmp_path / app / name) as img:
                assert img.mode == "RGB" and img.size[0] > img.size[1], (app, name, img.size)  # wide tiles
    target = os.path.join(data, "face_007.png")
    out = run_script("applications/project.py", "--weights", straight, "--target", target, "--steps", "3",
                     *into(tmp_path / "project"))
    assert out.returncode == 0, out.stderr[-2000:]
    projected = [f for f in os.listdir(tmp_path / "project") if f.endswith("projected.png")]
    with Image.open(tmp_path / "project" / projected[0]) as img:
        assert img.size == (64, 32)
    out = run_script("tools/export.py", "--weights", straight, "--check-seeds", "0,1", *into(tmp_path / "export"))
    assert out.returncode == 0 and "64x32 px" in out.stdout, out.stdout[-1000:] + out.stderr[-2000:]


@pytest.mark.slow
def test_non_square_demo_runs_with_its_metrics(tmp_path):
    config = os.path.join(ROOT, "configs", "stylegan_v2_demo_32x64.yaml")
    out = run_script("tools/demo.py", "--config", config, "--iters", "2", "--data", tmp_path / "demo",
                     "--outdir", tmp_path / "out")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert len(os.listdir(str(tmp_path / "demo") + "-64x32-rgb")) == 100
    run = only_run(tmp_path / "out")
    with Image.open(os.path.join(run, "samples_after.png")) as img:
        assert img.size == (8 * 65 + 1, 8 * 33 + 1)
    assert "SWD x1e3 before" in out.stdout
