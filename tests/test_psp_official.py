"""Official pixel2style2pixel checkpoints: files written here in the official format (torch.save zip, storages tagged
cuda:0, the official key layout, random weights) for each encoder type and input_nc 1 / 3 / 19, read without torch
by `convert` and `encode --weights x.pt`; codes and images against a reference written from the official
definitions (tests/psp_reference.py for the encoders, ppgan's StyleGANv2Generator, rosinality's model, as decoder)."""
import json
import math
import os
from collections import OrderedDict

import numpy as np
import paddle
import pytest
from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator

import psp_reference as ref
import weight_writers as ww
from conftest import into, max_diff, randomize, run_script
from ppgan_stylegan.apps.convert import convert_file
from ppgan_stylegan.apps.encode import ImageEncoder
from ppgan_stylegan.core.errors import UserError

SIZE, STYLE, WIDTHS = 32, 32, (16, 32, 48, 64)  # decoder 32 px -> 8 W+ entries (coarse, middle and fine heads)
N_STYLES = 2 * int(math.log2(SIZE)) - 2
DATASET = {3: "ffhq_encode", 1: "celebs_sketch_to_face", 19: "celebs_seg_to_face"}


def _decoder(seed):
    paddle.seed(seed)
    g = randomize(StyleGANv2Generator(SIZE, STYLE, 2, channel_multiplier=1), seed, scale=0.2)
    g.eval()
    return g


def write_official(path, kind="GradualStyleEncoder", input_nc=3, seed=0, opts=None, latent_avg_rows=None):
    """An official pSp checkpoint; returns (encoder state in the official names, latent_avg, the decoder)."""
    rng = np.random.RandomState(seed)
    enc = ref.official_encoder(kind, rng, input_nc, N_STYLES, STYLE, WIDTHS)
    g = _decoder(seed)
    learn_in_w = kind == "BackboneEncoderUsingLastLayerIntoW"
    rows = latent_avg_rows or (1 if learn_in_w else N_STYLES)
    latent_avg = rng.standard_normal([rows, STYLE]).astype("float32")
    state = OrderedDict((f"encoder.{k}", ww.Tensor(v)) for k, v in enc.items())
    state.update((f"decoder.{k}", v) for k, v in ww.rosinality_state(g.state_dict()).items())
    full = dict(encoder_type=kind, input_nc=input_nc, label_nc=0 if input_nc == 3 else input_nc, output_size=SIZE,
                start_from_latent_avg=True, learn_in_w=learn_in_w, dataset_type=DATASET[input_nc], lpips_lambda=0.8,
                checkpoint_path=None, exp_dir="/tmp/x")
    full.update(opts or {})
    full = {k: v for k, v in full.items() if v is not None}
    ww.write_torch_zip(path, {"state_dict": state, "opts": full, "latent_avg": ww.Tensor(latent_avg)},
                       location="cuda:0")
    return enc, latent_avg, g


def reference(kind, enc, latent_avg, g, x):
    """The official pSp forward: codes = encoder(x) + latent_avg, image = decoder([codes], input_is_latent=True,
    randomize_noise=False) (ppgan's StyleGANv2Generator broadcasts a W code to every entry, as rosinality's)."""
    codes = ref.encoder_forward(kind, enc, x, N_STYLES, WIDTHS)
    codes = codes + (latent_avg[0] if codes.ndim == 2 else latent_avg)
    with paddle.no_grad():
        image, _ = g([paddle.to_tensor(codes.astype("float32"))], input_is_latent=True, randomize_noise=False)
    wplus = np.broadcast_to(codes[:, None], [len(codes), N_STYLES, STYLE]) if codes.ndim == 2 else codes
    return wplus, image.numpy()


CASES = [("GradualStyleEncoder", 3), ("GradualStyleEncoder", 1), ("GradualStyleEncoder", 19),
         ("BackboneEncoderUsingLastLayerIntoW", 3), ("BackboneEncoderUsingLastLayerIntoWPlus", 3)]


@pytest.mark.parametrize("kind,input_nc", CASES)
def test_official_checkpoints_reproduce_the_official_forward(tmp_path, kind, input_nc):
    path = str(tmp_path / "psp.pt")
    enc, latent_avg, g = write_official(path, kind, input_nc, seed=input_nc)
    x = np.random.RandomState(7).uniform(-1, 1, [2, input_nc, 256, 256]).astype("float32")
    want_codes, want_image = reference(kind, enc, latent_avg, g, x)
    # read directly (encode --weights x.pt) and through `convert` (a .pdparams): the same networks
    converted = str(tmp_path / "psp.pdparams")
    nets, lines = convert_file(path, converted)
    assert nets == ["encoder", "gen"] and any(kind in line for line in lines)
    for weights in (path, converted):
        app = ImageEncoder(weights, output_dir=str(tmp_path / "out"))
        assert type(app.encoder).__name__ == {"GradualStyleEncoder": "PSPEncoder"}.get(kind, "PSPEncoder" +
                                                                                      kind.split("LastLayer")[-1])
        assert app.encoder.input_nc == input_nc and app.inputs.task.official == DATASET[input_nc]
        codes = app.encode(paddle.to_tensor(x))
        image = app.synthesize(codes).numpy()
        assert max_diff(codes.numpy(), want_codes) < 1e-3, weights
        assert max_diff(image, want_image) < 2e-3, weights


@pytest.mark.parametrize("opts,latent_rows,message", [
    (dict(input_nc=3), None, "opts['input_nc'] is 3 but encoder.input_layer.0.weight takes 1"),
    (dict(output_size=64), None, "opts['output_size'] is 64 but the decoder makes 32 px images"),
    (dict(learn_in_w=True), None, "opts['learn_in_w'] is True, so latent_avg should have 1 row(s)"),
    (dict(encoder_type="BackboneEncoderUsingLastLayerIntoWPlus"), None,
     "opts['encoder_type'] is BackboneEncoderUsingLastLayerIntoWPlus but the encoder's tensors are those of "
     "GradualStyleEncoder"),
    (dict(encoder_type="ResNetEncoder"), None, "opts['encoder_type'] is 'ResNetEncoder'"),
    (dict(label_nc=19), None, "opts['label_nc'] is 19 but the encoder takes 1 input channel(s)"),
    (dict(), 3, "latent_avg should have 8 row(s); it is [3, 32]"),
])
def test_options_that_disagree_with_the_tensors_are_named(tmp_path, opts, latent_rows, message):
    path = str(tmp_path / "psp.pt")
    write_official(path, "GradualStyleEncoder", 1, opts=opts, latent_avg_rows=latent_rows)
    with pytest.raises(UserError) as err:
        ImageEncoder(path, output_dir=str(tmp_path / "out"))
    assert message in str(err.value) and path in str(err.value) and "\n" not in str(err.value)


def test_older_files_without_output_size_assume_1024(tmp_path):
    """The official inference's defaults for files that predate output_size / learn_in_w: 1024 / False."""
    path = str(tmp_path / "old.pt")
    write_official(path, opts=dict(output_size=None, learn_in_w=None))
    with pytest.raises(UserError, match=r"opts\['output_size'\] is 1024 but the decoder makes 32 px"):
        ImageEncoder(path, output_dir=str(tmp_path / "out"))


@pytest.mark.slow
def test_convert_and_encode_command_lines_on_an_official_sketch_checkpoint(tmp_path):
    """`convert` writes the pSp file; `encode --weights x.pt` of sketches gives the reference codes, and the
    multi-modal grid; a bad file is one line and exit 2 with nothing written."""
    from PIL import Image
    path = str(tmp_path / "psp_sketch.pt")
    enc, latent_avg, g = write_official(path, "GradualStyleEncoder", 1)
    sketches = tmp_path / "sketches"
    sketches.mkdir()
    rng = np.random.RandomState(0)
    Image.fromarray(np.where(rng.rand(300, 300) > 0.9, 0, 255).astype("uint8")).save(sketches / "s0.png")
    out = run_script("tools/convert_weights.py", "--src", path, "--dst", tmp_path / "psp.pdparams")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "GradualStyleEncoder (1 input channel(s), 8 W+ entries); task sketch2face" in out.stdout
    out = run_script("applications/encode.py", "--weights", path, "--images", sketches, "--latent-mask", "4-7",
                     "--n-outputs", 3, *into(tmp_path / "enc"))
    assert out.returncode == 0, out.stderr[-2000:]
    # the official sketch transform: Resize((256, 256)) (PIL bilinear) + ToTensor, one channel
    arr = np.asarray(Image.open(sketches / "s0.png").resize((256, 256), Image.BILINEAR), np.float32) / 255.0
    want, _ = reference("GradualStyleEncoder", enc, latent_avg, g, arr[None, None])
    assert max_diff(np.load(tmp_path / "enc" / "s0.npy"), want[0]) < 1e-3
    assert json.load(open(tmp_path / "enc" / "encode_summary.json"))["task"] == "sketch2face"
    assert Image.open(tmp_path / "enc" / "s0_multimodal.png").size[0] > 3 * SIZE
    bad = str(tmp_path / "bad.pt")
    write_official(bad, "GradualStyleEncoder", 1, opts=dict(input_nc=3), seed=1)
    before = os.listdir(tmp_path)
    out = run_script("applications/encode.py", "--weights", bad, "--images", sketches, *into(tmp_path / "enc2"))
    assert out.returncode == 2 and "opts['input_nc'] is 3" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not os.path.exists(tmp_path / "enc2")
    assert os.listdir(tmp_path) == before
