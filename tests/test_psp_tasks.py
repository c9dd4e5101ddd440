"""pSp tasks: the input transforms on a real photo, paired folders and their errors, multi-modal outputs, network
blending, and each task trained a few iterations then run by `encode --task`."""
import json
import os
import zipfile

import numpy as np
import paddle
import pytest
from PIL import Image
from skimage import data as skdata

from conftest import DEMO, ROOT, into, randomize, run_folders, run_script, tiny
from ppgan_stylegan import PSPEncoder, StyleGAN2Generator
from ppgan_stylegan.apps.blend import blend_files
from ppgan_stylegan.apps.encode import ImageEncoder, Quality
from ppgan_stylegan.losses.perceptual import IDLoss
from ppgan_stylegan.networks.perceptual import ArcFaceBackbone
from ppgan_stylegan.core.errors import ConfigError, UserError
from ppgan_stylegan.core.images import to_uint8
from ppgan_stylegan.data.datasets import PSPTaskDataset
from ppgan_stylegan.data.tasks import TASKS, TaskInputs, bicubic_downsample, one_hot_labels, xdog_sketch
from ppgan_stylegan.networks.families.stylegan2 import layer_resolution

G16 = dict(size=16, style_dim=32, n_mlp=2, channel_multiplier=1, channel_base=1024, channel_max=64)
TINY_ENC = dict(input_size=16, units=[1, 1, 1, 1], widths=[8, 16, 24, 32])
PHOTO = skdata.astronaut()  # 512 x 512 RGB


def official_bicubic_downsample(img, factor):
    """The official BicubicDownSample written out: Keys' kernel (a = -0.5) of 4 x factor taps, reflect padding of
    3 x factor split (pad // 2, rest), a strided 1-D convolution along rows, then along columns."""
    def k(x, a=-0.5):
        x = abs(x)
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1 if x <= 1 else \
            a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a if x < 2 else 0.0
    size = 4 * factor
    taps = np.array([k((i - np.floor(size / 2) + 0.5) / factor) for i in range(size)])
    taps /= taps.sum()
    pad = size - factor
    x = np.pad(img, [(pad // 2, pad - pad // 2), (0, 0), (0, 0)], mode="reflect")
    rows = np.stack([sum(taps[t] * x[r + t] for t in range(size)) for r in range(0, x.shape[0] - size + 1, factor)])
    x = np.pad(rows, [(0, 0), (pad // 2, pad - pad // 2), (0, 0)], mode="reflect")
    cols = np.stack([sum(taps[t] * x[:, c + t] for t in range(size)) for c in range(0, x.shape[1] - size + 1, factor)],
                    axis=1)
    return np.clip(cols, 0, 1)


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_superres_downsampling_is_the_official_bicubic_kernel(factor):
    img = PHOTO[::4, ::4].astype(np.float64) / 255.0  # 128 px
    ours = bicubic_downsample(img.astype(np.float32), factor)
    assert ours.shape == (128 // factor, 128 // factor, 3)
    assert np.abs(ours - official_bicubic_downsample(img, factor)).max() < 1e-5


def test_each_task_input_from_a_real_photo():
    size = 64
    for name, task in TASKS.items():
        if not task.from_target:
            continue
        inputs = TaskInputs(name, size, resize_factors=(2, 4, 8))
        a = inputs.from_target(PHOTO, np.random.RandomState(3))
        b = inputs.from_target(PHOTO, np.random.RandomState(3))
        assert np.array_equal(a, b), name  # deterministic under a seed
        if name == "sketch2face":
            assert a.shape == (1, size, size) and a.min() >= 0 and a.max() <= 1 and 0.5 < a.mean() < 1.0
        else:
            assert a.shape == (3, size, size) and -1 <= a.min() and a.max() <= 1, name
    photo = TaskInputs("encode", size).from_target(PHOTO, np.random.RandomState(0))
    # frontalization flips its source at random (independently of the target): both outcomes, each the mirror
    flips = [TaskInputs("frontalize", size).from_target(PHOTO, np.random.RandomState(s)) for s in range(8)]
    assert any(np.array_equal(f, photo) for f in flips) and any(np.array_equal(f, photo[:, :, ::-1]) for f in flips)
    # super-resolution: coarser factors lose more detail; each seed draws one factor of the list
    sr = [TaskInputs("superres", size, resize_factors=(f,)).from_target(PHOTO, np.random.RandomState(0))
          for f in (2, 8)]
    errors = [float(((x - photo) ** 2).mean()) for x in sr]
    assert 0 < errors[0] < errors[1]
    drawn = {TaskInputs("superres", size, resize_factors=(2, 8)).from_target(PHOTO, np.random.RandomState(s))
             .tobytes() for s in range(10)}
    assert len(drawn) == 2
    # the sketch has dark lines where the photo has edges
    sketch = xdog_sketch(PHOTO)
    assert sketch.shape == (512, 512, 1) and (sketch < 128).mean() > 0.02 and (sketch > 200).mean() > 0.5
    with pytest.raises(UserError, match="seg2face: label maps cannot be made from photos"):
        TaskInputs("seg2face", size, label_nc=19).from_target(PHOTO, np.random.RandomState(0))


def test_label_maps_one_hot_and_bad_values():
    labels = np.random.RandomState(0).randint(0, 19, [40, 40]).astype(np.uint8)
    hot = one_hot_labels(labels, 40, 19)
    assert hot.shape == (19, 40, 40) and np.array_equal(hot.sum(0), np.ones([40, 40]))
    assert np.array_equal(hot.argmax(0), labels)
    labels[5, 7] = 23
    with pytest.raises(UserError, match=r"map.png: label value 23 at \(x=7, y=5\); expected classes 0-18"):
        one_hot_labels(labels, 32, 19, "map.png")


def _kmeans_labels(rgb, k=4):
    """A label map of a photo: k-means colour regions (a stand-in for a face parser), uint8 class indices."""
    flat = rgb.reshape(-1, 3).astype(np.float32)
    centres = flat[np.linspace(0, len(flat) - 1, k).astype(int)]
    for _ in range(5):
        assign = ((flat[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([flat[assign == c].mean(0) if (assign == c).any() else centres[c] for c in range(k)])
    return assign.reshape(rgb.shape[:2]).astype(np.uint8)


def paired_folders(root, n=6, size=16, k=4):
    """``faces/`` (real photos: crops of skimage's astronaut and coffee) and ``labels/`` (their k-means maps)."""
    faces, labels = root / "faces", root / "labels"
    faces.mkdir(parents=True)
    labels.mkdir()
    sources = [skdata.astronaut(), skdata.coffee(), skdata.chelsea()]
    for i in range(n):
        img = sources[i % 3]
        y, x = 20 * i, 30 * i
        crop = np.asarray(Image.fromarray(img[y:y + 300, x:x + 300]).resize((size, size), Image.BILINEAR))
        Image.fromarray(crop).save(faces / f"f{i}.png")
        Image.fromarray(_kmeans_labels(crop, k), mode="L").save(labels / f"f{i}.png")
    return faces, labels


def test_paired_folders_and_their_errors(tmp_path):
    faces, labels = paired_folders(tmp_path)
    ds = PSPTaskDataset(str(faces), task="seg2face", input_size=16, source_root=str(labels), label_nc=4)
    item = ds[2]
    assert item["A"].shape == (3, 16, 16) and item["A"].dtype == np.uint8
    assert item["source"].shape == (4, 16, 16) and np.array_equal(item["source"].sum(0), np.ones([16, 16]))
    with zipfile.ZipFile(tmp_path / "labels.zip", "w") as z:  # the pairs in an NVlabs-style zip: the same items
        for name in sorted(os.listdir(labels)):
            z.write(labels / name, name)
    zipped = PSPTaskDataset(str(faces), task="seg2face", input_size=16, source_root=str(tmp_path / "labels.zip"),
                            label_nc=4)
    assert all(np.array_equal(zipped[i]["source"], ds[i]["source"]) for i in range(len(ds)))
    with pytest.raises(ConfigError, match="dataset.source_root: task seg2face needs a paired folder"):
        PSPTaskDataset(str(faces), task="seg2face", input_size=16, label_nc=4)
    kept = (labels / "f3.png").read_bytes()
    os.remove(labels / "f3.png")  # one missing pair
    with pytest.raises(ConfigError, match=r"no input for .*f3.png in .*labels.*expected f3\.<png"):
        PSPTaskDataset(str(faces), task="seg2face", input_size=16, source_root=str(labels), label_nc=4)
    (labels / "f3.png").write_bytes(kept)
    ds = PSPTaskDataset(str(faces), task="seg2face", input_size=16, source_root=str(labels), label_nc=3)
    with pytest.raises(UserError, match=r"labels/f\d.png: label value 3 at .*expected classes 0-2 \(label_nc 3\)"):
        [ds[i] for i in range(len(ds)) if i != 3]
    Image.fromarray((np.zeros([16, 16, 3]) + [255, 0, 0]).astype(np.uint8)).save(labels / "f3.png")  # a colour "sketch"
    ds = PSPTaskDataset(str(faces), task="sketch2face", input_size=16, source_root=str(labels))
    with pytest.raises(UserError, match="f3.png: a sketch with colour"):
        ds[3]
    Image.fromarray(np.zeros([20, 20], np.uint8)).save(labels / "f3.png")
    with pytest.raises(ConfigError, match=r"f3.png: input is 20x20, its target .*f3.png is 16x16"):
        ds[3]
    Image.fromarray(np.zeros([16, 16], np.uint8), mode="L").convert("P").save(labels / "f3.png")
    ds = PSPTaskDataset(str(faces), task="superres", input_size=16, source_root=str(labels))
    with pytest.raises(UserError, match="a label map \\(mode P\\) given to the photo task superres"):
        ds[3]


@pytest.fixture(scope="module")
def psp16(tmp_path_factory):
    """A PSPModel-layout file: a random 16 px generator and an encoder of 3 input channels."""
    paddle.seed(3)
    g = randomize(StyleGAN2Generator(**G16), 1)
    enc = randomize(PSPEncoder(n_styles=g.n_latent, style_dim=32, **TINY_ENC), 2)
    path = str(tmp_path_factory.mktemp("psp16") / "psp.pdparams")
    paddle.save({"gen": g.state_dict(), "encoder": enc.state_dict(),
                 "meta": {"config": {"model": {"encoder": dict(name="PSPEncoder", n_styles=g.n_latent, style_dim=32,
                                                               **TINY_ENC)}}}}, path)
    return path


def test_multimodal_outputs_differ_only_in_the_masked_entries(psp16, tmp_path):
    app = ImageEncoder(psp16, output_dir=str(tmp_path / "o"))
    codes = app.encode(paddle.rand([2, 3, 16, 16]) * 2 - 1)
    mask = [3, 4, 5]
    mixed = app.mixed(codes, mask, 4, seed=1).numpy()
    assert mixed.shape == (2, 4, app.n_latent, 32)
    keep = [i for i in range(app.n_latent) if i not in mask]
    assert np.array_equal(mixed[:, :, keep], np.broadcast_to(codes.numpy()[:, None, keep], mixed[:, :, keep].shape))
    assert all(np.abs(mixed[0, a, mask] - mixed[0, b, mask]).max() > 1e-3 for a in range(4) for b in range(a))
    assert np.array_equal(mixed[0, :, mask], mixed[1, :, mask])  # the same injected styles for every input
    half = app.mixed(codes, mask, 4, mix_alpha=0.5, seed=1).numpy()
    assert np.allclose(half[:, :, mask], 0.5 * mixed[:, :, mask] + 0.5 * codes.numpy()[:, None, mask], atol=1e-6)
    with pytest.raises(UserError, match="--latent-mask 9: W\\+ entries of this generator are 0-5"):
        app.mixed(codes, [9], 2)


def test_blending_keeps_the_base_below_and_the_tuned_above(tmp_path):
    paddle.seed(0)
    base, tuned = StyleGAN2Generator(**G16), randomize(StyleGAN2Generator(**G16), 5)
    paths = []
    for name, g in (("base", base), ("tuned", tuned)):
        paths.append(str(tmp_path / f"{name}.pdparams"))
        paddle.save({"gen_ema": g.state_dict()}, paths[-1])
    seen = set()
    for swap in (4, 8, 16):
        dst = str(tmp_path / f"blend{swap}.pdparams")
        blend_files(*paths, swap, dst)
        out = paddle.load(dst)["gen_ema"]
        for key, value in out.items():
            res = layer_resolution(key)
            source = tuned if res is not None and res >= swap else base
            assert np.array_equal(value.numpy(), source.state_dict()[key].numpy()), (swap, key)
            seen.add(res)
        assert np.array_equal(out["style.1.weight"].numpy(), base.state_dict()["style.1.weight"].numpy())
    assert seen == {None, 4, 8, 16}
    with pytest.raises(UserError, match="--swap-res 32: expected a power of two from 4 to the generator's 16"):
        blend_files(*paths, 32, str(tmp_path / "x.pdparams"))
    paddle.save({"gen_ema": StyleGAN2Generator(**dict(G16, size=32)).state_dict()}, str(tmp_path / "other.pdparams"))
    with pytest.raises(UserError, match="another architecture"):
        blend_files(paths[0], str(tmp_path / "other.pdparams"), 8, str(tmp_path / "x.pdparams"))


def _task_overrides(task, faces, labels, gen_weights):
    args = [f"model.generator_weights={gen_weights}", f"model.task={task}", "total_iters=3",
            "snapshot_config.interval=3", "validate.interval=100", "log_config.interval=1",
            "log_config.visiual_interval=3", "model.encoder.input_size=16", "model.loss_size=null",
            "model.lpips=null", "model.id_loss=null", "model.lpips_crop_weight=0",
            *[f"model.generator.{k}={v}" for k, v in G16.items()],
            *[f"model.encoder.{k}={v}" for k, v in TINY_ENC.items() if k != "input_size"]]
    for split in ("train", "test"):
        args += [f"dataset.{split}.dataroot={faces}", f"dataset.{split}.input_size=16", f"dataset.{split}.batch_size=2",
                 f"dataset.{split}.num_workers=0"]
        if task == "superres":
            args.append(f"dataset.{split}.resize_factors=[2,4]")
        if task == "seg2face":
            args += [f"dataset.{split}.source_root={labels}", f"dataset.{split}.label_nc=4"]
    return args + (["model.label_nc=4"] if task == "seg2face" else [])


@pytest.mark.slow
@pytest.mark.parametrize("task", list(TASKS))
def test_each_task_trains_and_encode_runs_it(task, tmp_path):
    """configs/psp_<task>.yaml trained 3 iterations on real photos (seg2face: their k-means label maps), then
    `encode --task` on the task's inputs: latents, reconstructions and the grid."""
    faces, labels = paired_folders(tmp_path)
    paddle.seed(1)
    gen_weights = str(tmp_path / "g16.pdparams")
    paddle.save({"gen_ema": StyleGAN2Generator(**G16).state_dict()}, gen_weights)
    out = run_script("tools/main.py", "-c", os.path.join(ROOT, "configs", f"psp_{task}.yaml"), "-o",
                     *_task_overrides(task, faces, labels, gen_weights), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run = run_folders(tmp_path / "output")[0]
    weights = os.path.join(run, "iter_3_weight.pdparams")
    state = paddle.load(weights)
    assert state["encoder"]["input_layer.0.weight"].shape[1] == {"seg2face": 4, "sketch2face": 1}.get(task, 3)
    images = labels if task == "seg2face" else faces
    if task == "sketch2face":  # the user's sketches (here: XDoG drawings of the photos)
        images = tmp_path / "sketches"
        images.mkdir()
        for name in os.listdir(faces):
            Image.fromarray(xdog_sketch(np.asarray(Image.open(faces / name)))[..., 0]).save(images / name)
    targets = [] if images == faces else ["--targets", faces]  # sketches / label maps scored against the photos
    enc = run_script("applications/encode.py", "--weights", weights, "--images", images, "--no-align",
                     "--latent-mask", "3-5", "--n-outputs", 2, *targets, *into(tmp_path / "enc"))
    assert enc.returncode == 0, enc.stderr[-2000:]
    summary = json.load(open(tmp_path / "enc" / "encode_summary.json"))
    assert summary["task"] == task and summary["count"] == 6
    assert summary["baseline"] == ("bicubic" if task == "superres" else "latent_avg")
    assert set(summary["mse"]) == {f"f{i}" for i in range(6)} and summary["mean_mse_baseline"] > 0
    assert "mean mse" in enc.stdout
    assert Image.open(tmp_path / "enc" / "encode_grid.png").size[1] > 3 * 16  # inputs / outputs / targets
    assert np.load(tmp_path / "enc" / "f0.npy").shape == (6, 32)
    assert os.path.isfile(tmp_path / "enc" / "f5_recon.png") and os.path.isfile(tmp_path / "enc" / "f5_multimodal.png")
    if task == "sketch2face":  # --from-photos: the photos' sketches drawn as above, scored against the photos
        own = run_script("applications/encode.py", "--weights", weights, "--images", faces, "--no-align",
                         "--from-photos", *into(tmp_path / "e3"))
        assert own.returncode == 0, own.stderr[-2000:]
        assert json.load(open(tmp_path / "e3" / "encode_summary.json"))["per_image"] == summary["per_image"]
        assert np.array_equal(np.load(tmp_path / "e3" / "f2.npy"), np.load(tmp_path / "enc" / "f2.npy"))
    if task == "seg2face":  # a photo given to a label-map encoder: one line
        bad = run_script("applications/encode.py", "--weights", weights, "--images", faces, *into(tmp_path / "e2"))
        assert bad.returncode == 2 and "a label map must be a single-channel" in bad.stderr


@pytest.mark.slow
def test_toonify_pipeline_end_to_end(tmp_path):
    """Toonify as a user runs it: a base generator trained on photos, fine-tuned (--load) on a second domain
    (posterized photos), blended at 8 px, pSp trained against the blend (configs/psp_toonify.yaml), and `encode
    --task toonify` of a photo: its output is the blended generator's image of its codes."""
    faces, labels = paired_folders(tmp_path)
    toons = tmp_path / "toons"
    toons.mkdir()
    for name in os.listdir(faces):
        Image.fromarray(np.asarray(Image.open(faces / name)) // 64 * 64).save(toons / name)
    arch = tiny({"model.generator.size": 16, "model.discriminator.size": 16, **{
        f"model.generator.{k}": v for k, v in G16.items() if k != "size"}})

    def train(data, out, *extra):
        proc = run_script("tools/main.py", "-c", DEMO, "-o", *arch, f"dataset.train.dataroot={data}",
                          f"dataset.test.dataroot={data}", "total_iters=2", f"output_dir={out}", *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return run_folders(out)[0]
    base = train(faces, tmp_path / "base")
    tuned = train(toons, tmp_path / "tuned", "--load", os.path.join(base, "iter_2_checkpoint.pdparams"))
    blended = str(tmp_path / "blended.pdparams")
    proc = run_script("applications/blend.py", "--base", base, "--tuned", tuned, "--swap-res", 8, "--dst", blended)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = run_script("tools/main.py", "-c", os.path.join(ROOT, "configs", "psp_toonify.yaml"), "-o",
                     *_task_overrides("toonify", faces, labels, blended), "output_dir=psp", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    psp = os.path.join(run_folders(tmp_path / "psp")[0], "iter_3_weight.pdparams")
    blend_state = paddle.load(blended)["gen_ema"]
    assert all(np.array_equal(v.numpy(), blend_state[k].numpy()) for k, v in paddle.load(psp)["gen"].items())
    enc = run_script("applications/encode.py", "--weights", psp, "--images", faces / "f1.png", "--no-align",
                     "--task", "toonify", *into(tmp_path / "enc"))
    assert enc.returncode == 0, enc.stderr[-2000:]
    gen = StyleGAN2Generator(**G16)
    gen.set_state_dict(blend_state)
    codes = paddle.to_tensor(np.load(tmp_path / "enc" / "f1.npy")[None])
    with paddle.no_grad():
        image, _ = gen([codes], input_is_latent=True, noise="const")
    pixels = np.asarray(Image.open(tmp_path / "enc" / "f1_recon.png"))
    assert np.array_equal(pixels, to_uint8(image)[0])


@pytest.mark.slow
def test_encode_scores_lpips_and_identity_of_outputs_and_baseline(psp16, lpips_dir, tmp_path):
    """encode --lpips-weights: LPIPS of the outputs and of the bicubic baseline per image and their means, the
    numbers the same in process; with an ArcFace the identity similarity too (1 for an output equal to its target,
    LPIPS 0)."""
    faces, _ = paired_folders(tmp_path)
    enc = run_script("applications/encode.py", "--weights", psp16, "--images", faces, "--no-align", "--task",
                     "superres", "--resize-factor", 4, "--lpips-weights", lpips_dir, *into(tmp_path / "e"))
    assert enc.returncode == 0, enc.stderr[-2000:]
    summary = json.load(open(tmp_path / "e" / "encode_summary.json"))
    rows = summary["per_image"]
    assert set(rows["f0"]) == {"mse", "mse_baseline", "lpips", "lpips_baseline"} and "mean lpips:" in enc.stdout
    assert all(r["lpips"] > 0 and r["lpips_baseline"] > 0 and r["lpips"] != r["lpips_baseline"] for r in rows.values())
    assert np.isclose(summary["mean_lpips"], np.mean([r["lpips"] for r in rows.values()]))
    arc_kw = dict(input_size=32, units=[1, 1, 1, 1], widths=[8, 16, 16, 32], embed_dim=16)
    paddle.seed(2)
    arc_path = str(tmp_path / "arcface.pdparams")
    paddle.save(randomize(ArcFaceBackbone(**arc_kw), 2).state_dict(), arc_path)
    quality = Quality(lpips_dir)
    quality.id = IDLoss(arc_path, **arc_kw)  # (a small ArcFace; the command line takes the IR-SE-50 file)
    app = ImageEncoder(psp16, output_dir=str(tmp_path / "in"), task="superres", resize_factors=(4,))
    report, _ = app.encode_folder(str(faces), quality=quality)
    assert all(np.isclose(report["per_image"][n]["lpips"], rows[n]["lpips"], rtol=1e-4) for n in rows)
    assert all(-1 <= r["id_similarity"] <= 1 and "id_similarity_baseline" in r for r in report["per_image"].values())
    target = paddle.rand([1, 3, 16, 16]) * 2 - 1
    quality.add("same", target, target * 0, target)
    same = quality.rows["same"]
    assert same["lpips"] < 1e-6 and abs(same["id_similarity"] - 1) < 1e-5 and same["lpips_baseline"] > 0
