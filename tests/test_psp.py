"""pSp: encoder parity with PaddleGAN's, PSPModel training on generator samples, the encode CLI, LPIPS / ID loss."""
import json
import os
import pathlib

import numpy as np
import paddle
import pytest
from ppgan.models.generators.generator_pixel2style2pixel import GradualStyleEncoder as PPGANEncoder

from conftest import ROOT, into, max_diff, randomize, run_folders, run_script
from ppgan_stylegan import PSPEncoder, StyleGAN2Generator
from ppgan_stylegan.apps.align import face_quad
from ppgan_stylegan.apps.encode import ImageEncoder
from ppgan_stylegan.networks.encoders import GradualStyleEncoder
from ppgan_stylegan.models import PSPModel
from ppgan_stylegan.losses.perceptual import IDLoss
from ppgan_stylegan.networks.perceptual import ArcFaceBackbone, load_lpips, lpips_distance
from ppgan_stylegan.core.errors import UserError
from ppgan_stylegan.networks.loading import infer_encoder_kwargs

# the tiny generator the training test inverts: every style (32) fits in every layer's channels (>= 32),
# so the image determines w and a latent error is meaningful
G16 = dict(size=16, style_dim=32, n_mlp=2, channel_multiplier=1, channel_base=1024, channel_max=64)
TINY_ENC = dict(input_size=16, units=[1, 1, 1, 1], widths=[8, 16, 24, 32])


@pytest.fixture(scope="module")
def g16_weights(tmp_path_factory):
    paddle.seed(1)
    g = StyleGAN2Generator(**G16)
    path = str(tmp_path_factory.mktemp("g16") / "g16.pdparams")
    paddle.save({"gen_ema": g.state_dict()}, path)
    return path


@pytest.mark.slow  # a full IR-SE-50 encoder at 256 px, in float64 and float32
def test_encoder_matches_ppgan_pixel2style2pixel_encoder():
    """IR-SE-50 at 256 px, 18 styles: PaddleGAN's keys and shapes, and the same output for the same weights.

    In float64: the 24 residual units grow activations to ~1e3, where float32 rounding differences of two
    equivalent op orders reach 2e-4 relative; float64 shows the two compute the same function (~1e-11)."""
    class Opts:
        input_nc = 3

    paddle.set_default_dtype("float64")
    try:
        paddle.seed(0)
        ref = PPGANEncoder(50, "ir_se", Opts())
        ours = GradualStyleEncoder(18, 512)
        ref_state = ref.state_dict()
        assert {k: list(v.shape) for k, v in ours.state_dict().items()} == \
            {k: list(v.shape) for k, v in ref_state.items()}
        rng = np.random.RandomState(0)
        state = {k: paddle.to_tensor(np.abs(v.numpy()) + 0.5 if k.endswith("_variance") else
                                     v.numpy() + 0.02 * rng.standard_normal(v.shape))
                 for k, v in ref_state.items()}
        ref.set_state_dict(state)
        ours.set_state_dict(state)
        ref.eval()
        ours.eval()
        x = paddle.to_tensor(rng.uniform(-1, 1, [1, 3, 256, 256]))
        with paddle.no_grad():
            a, b = ref(x).numpy(), ours(x).numpy()
    finally:
        paddle.set_default_dtype("float32")
    assert a.shape == (1, 18, 512) and a.dtype == np.float64
    assert np.linalg.norm(a - b) <= 1e-9 * np.linalg.norm(a)


def test_psp_encoder_adds_latent_avg_and_derives_n_styles():
    enc = PSPEncoder(size=32, style_dim=16, **TINY_ENC | {"input_size": 32})
    assert enc.n_styles == 8  # 2 log2(32) - 2, the generator's n_latent
    enc.eval()
    x = paddle.rand([2, 3, 32, 32])
    with paddle.no_grad():
        before = enc(x)
        enc.set_latent_avg(paddle.arange(16, dtype="float32"))
        after = enc(x)
    assert max_diff((after - before).numpy(), np.broadcast_to(np.arange(16), [2, 8, 16])) < 1e-5


def test_encoder_shape_inference_round_trip():
    cfg = dict(n_styles=10, style_dim=24, input_size=64, units=[1, 2, 1, 2], widths=[8, 16, 24, 32], mode="ir")
    enc = PSPEncoder(**cfg)
    inferred = infer_encoder_kwargs(enc.state_dict())
    assert inferred == dict(cfg, input_nc=3)
    with pytest.raises(UserError, match="4 stages"):
        infer_encoder_kwargs(PSPEncoder(n_styles=6, style_dim=8, input_size=16, widths=[8, 16, 32, 32]).state_dict())


@pytest.mark.slow
def test_psp_trained_on_generator_samples_halves_image_and_latent_error(g16_weights, tmp_path):
    """800 iterations (about 3 minutes on 2 cores) of configs/psp_demo.yaml against a random 16 px generator:
    held-out reconstruction MSE and W+ error at most half of the latent_avg baseline's."""
    out = run_script("tools/main.py", "-c", os.path.join(ROOT, "configs", "psp_demo.yaml"), "-o",
                     f"model.generator_weights={g16_weights}", "total_iters=800", "validate.interval=800",
                     "snapshot_config.interval=800", "log_config.interval=100", "log_config.visiual_interval=800",
                     "lr_scheduler.milestones=[600]", "model.encoder.input_size=16", "dataset.train.style_dim=32",
                     "dataset.test.style_dim=32", *[f"model.generator.{k}={v}" for k, v in G16.items()], cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = pathlib.Path(run_folders(tmp_path / "output")[0])
    metrics = [h["metrics"] for h in json.load(open(run_dir / "history.json")) if "metrics" in h][-1]
    print(metrics)
    assert metrics["recon_mse"] <= 0.5 * metrics["recon_mse_baseline"]
    assert metrics["latent_mse"] <= 0.5 * metrics["latent_mse_baseline"]
    assert os.path.isfile(run_dir / "visual_train" / "iter800_target_recon.png") or \
        any(f.endswith(".png") for f in os.listdir(run_dir / "visual_train"))

    # the encode CLI on images of the same generator: latents of the generator's shape, reconstructions, summary
    weights = run_dir / "iter_800_weight.pdparams"
    app = ImageEncoder(str(weights), output_dir=str(tmp_path / "samples"))
    z = paddle.to_tensor(np.random.RandomState(5).standard_normal([4, 32]).astype("float32"))
    with paddle.no_grad():
        w = app.generator.get_latent(z)
        images = app.synthesize(w.unsqueeze(1).tile([1, app.n_latent, 1]))
    from ppgan_stylegan.core.images import save_png, to_uint8
    folder = tmp_path / "targets"
    for i, img in enumerate(to_uint8(images)):
        save_png(img, str(folder / f"s{i}.png"))
    enc = run_script("applications/encode.py", "--weights", weights, "--images", folder, "--no-align", *into(tmp_path / "enc"))
    assert enc.returncode == 0, enc.stderr[-2000:]
    latent = np.load(tmp_path / "enc" / "s0.npy")
    assert latent.shape == (app.n_latent, 32)
    summary = json.load(open(tmp_path / "enc" / "encode_summary.json"))
    assert set(summary["mse"]) == {f"s{i}" for i in range(4)}
    assert summary["mean_mse"] < metrics["recon_mse_baseline"]
    assert os.path.isfile(tmp_path / "enc" / "s3_recon.png") and os.path.isfile(tmp_path / "enc" / "encode_grid.png")


def test_paddlegan_psp_file_layout_loads(g16_weights, tmp_path):
    """A Pixel2Style2Pixel-style file (encoder.*, decoder.*, latent_avg [1, n, D]) feeds the encode app."""
    g = StyleGAN2Generator(**G16)
    g.set_state_dict(paddle.load(g16_weights)["gen_ema"])
    enc = randomize(PSPEncoder(n_styles=g.n_latent, style_dim=32, **TINY_ENC), 3)
    avg = np.random.RandomState(0).standard_normal([1, g.n_latent, 32]).astype("float32")
    state = {f"encoder.{k}": v for k, v in enc.state_dict().items() if k != "latent_avg"}
    state.update({f"decoder.{k}": v for k, v in g.state_dict().items() if not k.startswith("w_avg")})
    state["latent_avg"] = paddle.to_tensor(avg)
    path = str(tmp_path / "psp_paddlegan.pdparams")
    paddle.save(state, path)
    app = ImageEncoder(path, config=None, output_dir=str(tmp_path / "o"))
    enc.set_latent_avg(avg[0])
    enc.eval()
    x = paddle.rand([2, 3, 16, 16]) * 2 - 1
    with paddle.no_grad():
        assert max_diff(app.encode(x).numpy(), enc(x).numpy()) < 1e-5


@pytest.mark.slow
def test_encode_cli_errors_and_alignment(g16_weights, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rgb = (np.random.RandomState(0).uniform(0, 255, [40, 40, 3])).astype("uint8")
    from PIL import Image
    Image.fromarray(rgb).save(folder / "a.png")
    # a weight file without an encoder: one line, exit 2
    out = run_script("applications/encode.py", "--weights", g16_weights, "--images", folder, "--no-align",
                     *into(tmp_path / "o"))
    assert out.returncode == 2 and "no pSp encoder weights" in out.stderr and "Traceback" not in out.stderr
    # alignment without landmarks: says what is needed (checked once the file says its task is a photo task)
    g = StyleGAN2Generator(**G16)
    enc = PSPEncoder(n_styles=g.n_latent, style_dim=32, **TINY_ENC)
    psp = str(tmp_path / "psp.pdparams")
    paddle.save({"gen": g.state_dict(), "encoder": enc.state_dict()}, psp)
    out = run_script("applications/encode.py", "--weights", psp, "--images", folder, *into(tmp_path / "o"))
    assert out.returncode == 2 and "--no-align" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "o")


def test_face_quad_follows_the_face():
    """An upright face gives an axis-aligned square around it; rotating the landmarks rotates the square."""
    lm = np.zeros([68, 2])
    lm[36:42] = [40, 50]
    lm[42:48] = [60, 50]
    lm[48], lm[54] = [44, 80], [56, 80]
    quad = face_quad(lm)
    side = np.linalg.norm(quad[3] - quad[0])
    assert np.allclose(quad[0], [50 - side / 2, 53 - side / 2]) and np.isclose(side, 2 * 1.8 * 30)
    assert np.allclose(quad[1] - quad[0], [0, side])  # left edge is vertical
    theta = np.deg2rad(30)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    assert np.allclose(face_quad(lm @ rot.T), quad @ rot.T)


def test_lpips_loads_offline_and_is_a_distance(lpips_dir, tmp_path):
    with pytest.raises(UserError, match="lins_0.1_vgg.pdparams"):
        os.makedirs(tmp_path / "empty")
        load_lpips(str(tmp_path / "empty"))
    lpips = load_lpips(lpips_dir)
    x, y = paddle.rand([2, 3, 32, 32]) * 2 - 1, paddle.rand([2, 3, 32, 32]) * 2 - 1
    assert float(lpips(x, x).abs().max()) < 1e-6
    assert float(lpips(x, y).min()) > 0
    assert all(p.stop_gradient for p in lpips.parameters())
    distance = lpips_distance(lpips_dir)  # the per-sample form PPL uses (CLI and PerceptualPathLength)
    d = distance(x, y)
    assert d.shape == [2] and np.allclose(d.numpy(), lpips(x, y).numpy().reshape(-1))


@pytest.mark.slow
def test_project_cli_with_lpips(lpips_dir, g16_weights, tmp_path):
    from PIL import Image
    Image.fromarray(np.random.RandomState(1).uniform(0, 255, [16, 16, 3]).astype("uint8")).save(tmp_path / "t.png")
    out = run_script("applications/project.py", "--weights", g16_weights, "--target", tmp_path / "t.png", "--steps", 20,
                     "--lpips-weights", lpips_dir, *into(tmp_path / "p"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert np.load(tmp_path / "p" / "t_projected.npz")["w_plus"].shape == (6, 32)
    out = run_script("applications/project.py", "--weights", g16_weights, "--target", tmp_path / "t.png", "--steps", 2,
                     "--lpips-weights", tmp_path / "nowhere", *into(tmp_path / "p2"))
    assert out.returncode == 2 and "--lpips-weights" in out.stderr and "Traceback" not in out.stderr
    assert not os.path.exists(tmp_path / "p2" / "t_projected.npz")


def test_id_loss_from_user_weights_and_psp_model_with_perceptual_losses(lpips_dir, g16_weights, tmp_path):
    arc_kw = dict(input_size=32, units=[1, 1, 1, 1], widths=[8, 16, 16, 32], embed_dim=16)
    paddle.seed(2)
    arc = randomize(ArcFaceBackbone(**arc_kw), 2)
    arc_path = str(tmp_path / "arcface.pdparams")
    paddle.save(arc.state_dict(), arc_path)
    id_loss = IDLoss(arc_path, **arc_kw)
    x, y = paddle.rand([2, 3, 64, 64]) * 2 - 1, paddle.rand([2, 3, 64, 64]) * 2 - 1
    assert abs(float(id_loss(x, x))) < 1e-5 and float(id_loss(x, y)) > 1e-4
    with pytest.raises(UserError, match="do not fit the ArcFace"):
        IDLoss(arc_path, **dict(arc_kw, embed_dim=8))

    model = PSPModel(encoder=dict(name="PSPEncoder", **TINY_ENC), generator_weights=g16_weights,
                     lpips=dict(weights_dir=lpips_dir, weight=0.8), id_loss=dict(weights=arc_path, weight=0.1, **arc_kw),
                     w_norm_weight=0.01)
    opt = paddle.optimizer.Adam(learning_rate=1e-3, parameters=model.nets["encoder"].parameters())
    gen_before = {k: v.numpy().copy() for k, v in model.nets["gen"].state_dict().items()}
    enc_before = model.nets["encoder"].styles[0].linear.weight.numpy().copy()
    model.setup_input({"z": np.random.RandomState(0).standard_normal([4, 32]).astype("float32")})
    model.train_iter({"optimE": opt})
    losses = model.get_current_losses()
    assert {"loss_l2", "loss_lpips", "loss_id", "loss_w_norm"} <= set(losses)
    assert all(np.isfinite(float(v)) for v in losses.values())
    assert max_diff(model.nets["encoder"].styles[0].linear.weight.numpy(), enc_before) > 0
    assert all(max_diff(v.numpy(), gen_before[k]) == 0 for k, v in model.nets["gen"].state_dict().items())


@pytest.mark.parametrize("name", ["psp_demo.yaml", "psp_demo_faces.yaml"])
def test_psp_configs_validate(name):
    from ppgan_stylegan.core.config import load_config, validate_config
    cfg = validate_config(load_config(os.path.join(ROOT, "configs", name)))
    assert cfg.model.name == "PSPModel" and cfg.model.encoder.name == "PSPEncoder"
