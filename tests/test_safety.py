"""No file a user opens can run code: hostile pickles in several shapes, fed to every entry point that reads a
weight, checkpoint or optimizer file, are refused in one line naming the file and the global; the payload never
runs. Files written by Paddle, ppgan and us load exactly as ``paddle.load`` reads them."""
import ast
import glob
import io
import os
import pickle
import sys
import zipfile

import numpy as np
import paddle
import pytest

from conftest import DEMO, ROOT, into, noise_images, run_folders, run_script, tiny
from ppgan_stylegan import StyleGAN2Discriminator, StyleGAN2Generator
from ppgan_stylegan.cli import main
from ppgan_stylegan.core.errors import UserError
from ppgan_stylegan.core.state import load_state
from ppgan_stylegan.losses.perceptual import IDLoss
from ppgan_stylegan.metrics.inception import load_inception
from ppgan_stylegan.networks.loading import load_generator

REFUSED = "posix.system"  # os.system, as a pickle names it


class Payload:
    """Unpickling this runs ``touch <marker>``: the classic two-line ``__reduce__``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _pickled(obj, protocol):
    return pickle.dumps(obj, protocol=protocol)


def _torch_zip(payload):
    """A ``torch.save``-style zip whose ``data.pkl`` is hostile."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", _pickled(payload, 2))
        zf.writestr("archive/version", "3\n")
    return buf.getvalue()


def _shapes(marker):
    """name -> file bytes: the payload at the top level (protocols 0, 2, 4, 5), nested in a state dict, in an
    optimizer's state inside a checkpoint, and inside a zip."""
    p = Payload(marker)
    weight = np.zeros([2, 2], "float32")
    return {
        "top-p0": _pickled(p, 0), "top-p2": _pickled(p, 2), "top-p4": _pickled(p, 4), "top-p5": _pickled(p, 5),
        "in-state-dict": _pickled({"gen_ema": {"style.1.weight": weight, "style.1.bias": p}}, 2),
        "in-optimizer": _pickled({"epoch": 3, "gen": {"w": weight}, "optimG": {"LR_Scheduler": {"last_epoch": 3},
                                                                            "w_moment1_0": p}}, 4),
        "in-zip": _torch_zip(p),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Hostile files of every shape, a good tiny generator, an image folder, LPIPS folders of hostile files."""
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "payload-ran"
    files = {}
    for name, data in _shapes(marker).items():
        files[name] = root / f"{name}.pdparams"
        files[name].write_bytes(data)
    paddle.seed(0)
    good = root / "good.pdparams"
    paddle.save({"gen_ema": StyleGAN2Generator(8, 16, 1, channel_multiplier=1, channel_base=64,
                                               channel_max=16).state_dict()}, str(good))
    images = noise_images(root / "images", n=2)
    lpips = {}
    for name, path in files.items():
        folder = root / f"lpips-{name}"
        folder.mkdir()
        for f in ("vgg16_official.pdparams", "lins_0.1_vgg.pdparams"):
            (folder / f).write_bytes(path.read_bytes())
        lpips[name] = folder
    return dict(root=root, marker=marker, files=files, good=str(good), images=images, lpips=lpips)


def _commands(w, name, out):
    """Every command line that reads a weight-like file, with the hostile file ``name`` in that place."""
    f, good, img = str(w["files"][name]), w["good"], os.path.join(w["images"], "0.png")
    train = ["train", "-c", DEMO, "-o", *tiny(), f"dataset.train.dataroot={w['images']}",
             f"dataset.test.dataroot={w['images']}", "total_iters=1", f"output_dir={out}/train"]
    return {
        "generate": ["generate", "--weights", f, *into(f"{out}/g")],
        "mix": ["mix", "--weights", f, "--rows", "0", "--cols", "1", *into(f"{out}/m")],
        "project": ["project", "--weights", f, "--target", img, "--steps", "1", *into(f"{out}/p")],
        "project --lpips-weights": ["project", "--weights", good, "--target", img, "--steps", "1",
                                    "--lpips-weights", str(w["lpips"][name]), *into(f"{out}/pl")],
        "edit": ["edit", "--weights", f, "--seed", "0", "--sefa", "0", *into(f"{out}/e")],
        "edit --direction": ["edit", "--weights", good, "--seed", "0", "--direction", f + ":age", *into(f"{out}/ed")],
        "encode": ["encode", "--weights", f, "--images", w["images"], "--no-align", *into(f"{out}/n")],
        "export": ["export", "--weights", f, *into(f"{out}/x")],
        "metrics": ["metrics", "--weights", f, "--metrics", "ppl", "--ppl-num", "2", *into(f"{out}/t")],
        "metrics --inception-weights": ["metrics", "--weights", good, "--metrics", "fid", "--real", w["images"],
                                        "--num", "2", "--inception-weights", f, *into(f"{out}/ti")],
        "metrics --lpips-weights": ["metrics", "--weights", good, "--metrics", "ppl", "--ppl-num", "2",
                                    "--lpips-weights", str(w["lpips"][name]), *into(f"{out}/tl")],
        "convert": ["convert", "--src", f, "--dst", f"{out}/converted.pdparams"],
        "train --resume": train + ["--resume", f],
        "train --load": train + ["--load", f],
    }


def _loaders(w, name):
    """The Python API's readers of weight files."""
    f = str(w["files"][name])
    return {"load_state": lambda: load_state(f), "load_generator": lambda: load_generator(f),
            "load_inception": lambda: load_inception(f, dims=192), "IDLoss": lambda: IDLoss(f)}


def _refused(text, path):
    return str(path) in text and REFUSED in text and "refusing to load" in text


@pytest.mark.parametrize("shape", list(_shapes("m")))
def test_hostile_files_are_refused_by_every_entry_point(world, shape, tmp_path, capsys):
    path = world["files"][shape]
    for command, argv in _commands(world, shape, tmp_path).items():
        expected = world["lpips"][shape] if "--lpips-weights" in command else path  # (a file in that folder)
        code = main(argv)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2, (command, err[-2000:])
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, (command, err[-2000:])
        assert _refused(lines[0], expected), (command, lines[0])
        assert not world["marker"].exists(), f"{command}: the payload ran"
    for loader, call in _loaders(world, shape).items():
        with pytest.raises(UserError) as e:
            call()
        assert _refused(str(e.value), path) and not world["marker"].exists(), (loader, str(e.value))


@pytest.mark.slow
@pytest.mark.parametrize("script, args", [
    ("applications/generate.py", ["--weights", "{f}"]),
    ("tools/main.py", ["-c", DEMO, "-o", *tiny(), "dataset.train.dataroot={images}", "dataset.test.dataroot={images}",
                       "output_dir={out}", "--resume", "{f}"]),
    ("tools/convert_weights.py", ["--src", "{f}", "--dst", "{out}/c.pdparams"]),
])
def test_hostile_file_through_the_scripts(world, tmp_path, script, args):
    f = world["files"]["top-p4"]
    out = run_script(script, *[a.format(f=f, out=tmp_path, images=world["images"]) for a in args], *(
        ["--outdir", str(tmp_path)] if "generate" in script else []), cwd=str(tmp_path))
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [out.stderr.strip()] and _refused(out.stderr, f), out.stderr[-2000:]
    assert "Traceback" not in out.stderr and not world["marker"].exists()


# ----------------------------------------------------------------------------- files that must keep loading

def _same(before, ours, where="file"):
    """``ours`` holds what ``paddle.load`` returned: the same keys, the same values (tensors as arrays)."""
    if isinstance(before, dict):
        assert isinstance(ours, dict) and set(before) == set(ours), (where, sorted(before)[:5], sorted(ours)[:5])
        for k in before:
            _same(before[k], ours[k], f"{where}.{k}")
    elif isinstance(before, (list, tuple)):
        assert len(before) == len(ours), where
        for i, (a, b) in enumerate(zip(before, ours)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(before, (paddle.Tensor, np.ndarray)):
        a = before.numpy() if isinstance(before, paddle.Tensor) else before
        assert isinstance(ours, np.ndarray) and a.dtype == ours.dtype and np.array_equal(a, ours), where
    else:
        assert before == ours and type(before) is type(ours), (where, before, ours)


def _written_files(root):
    """What Paddle, ppgan and we write: weights, optimizer states (with an LR scheduler), nested dicts in pickle
    protocols 2 and 4, ppgan's checkpoint format, a PaddleGAN StyleGANv2Generator file, our converted file."""
    from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator
    from ppgan.utils.filesystem import save as ppgan_save
    from ppgan_stylegan.apps.convert import convert_file
    paddle.seed(0)
    gen = StyleGAN2Generator(8, 16, 1, channel_multiplier=1, channel_base=64, channel_max=16)
    disc = StyleGAN2Discriminator(8, channel_multiplier=1, channel_base=64, channel_max=16)
    sched = paddle.optimizer.lr.MultiStepDecay(0.002, [10])
    opt = paddle.optimizer.Adam(sched, beta1=0.0, beta2=0.99, parameters=disc.parameters())
    disc(paddle.randn([2, 3, 8, 8])).mean().backward()
    opt.step()
    files = {"weights.pdparams": lambda p: paddle.save(gen.state_dict(), p),
             "weights_p2.pdparams": lambda p: paddle.save(gen.state_dict(), p, protocol=2),
             "optimizer.pdopt": lambda p: paddle.save(opt.state_dict(), p),
             "nested.pdparams": lambda p: paddle.save({"gen": gen.state_dict(), "scalar": paddle.to_tensor(2.0),
                                                       "meta": {"kimg": 1.5, "names": ["a", "b"], "pair": (1, 2)},
                                                       "np": np.float32(3.0)}, p),
             "ppgan_checkpoint.pdparams": lambda p: ppgan_save({"gen": gen.state_dict(), "disc": disc.state_dict(),
                                                                "optimD": opt.state_dict(), "epoch": 4}, p),
             "paddlegan_generator.pdparams": lambda p: paddle.save(StyleGANv2Generator(8, 16, 1).state_dict(), p)}
    paths = {}
    for name, write in files.items():
        paths[name] = str(root / name)
        write(paths[name])
    paths["converted.pdparams"] = str(root / "converted.pdparams")
    convert_file(paths["paddlegan_generator.pdparams"], paths["converted.pdparams"])
    return paths


def test_files_written_by_paddle_ppgan_and_us_load_as_paddle_load_reads_them(tmp_path):
    for name, path in _written_files(tmp_path).items():
        _same(paddle.load(path), load_state(path), name)


def test_big_parameter_slices_are_joined_as_paddle_load_does(tmp_path):
    """paddle.save (protocol < 4) splits an array over 4 GB into slices listed under ``UnpackBigParamInfor@@``."""
    w = np.arange(12, dtype="float32").reshape(3, 4)
    path = str(tmp_path / "big.pdparams")
    with open(path, "wb") as f:
        pickle.dump({"UnpackBigParamInfor@@": {"w": {"OriginShape": [3, 4], "slices": ["w@@.0", "w@@.1"]}},
                     "w@@.0": w.reshape(-1)[:5], "w@@.1": w.reshape(-1)[5:], "b": np.ones([2], "float32")}, f,
                    protocol=2)
    ours = load_state(path)
    assert set(ours) == {"w", "b"} and np.array_equal(ours["w"], w)
    _same(paddle.load(path), ours)


@pytest.mark.parametrize("shape", ["self-referencing", "deeply nested"])
def test_a_self_referencing_or_deep_file_is_one_line(tmp_path, shape, capsys):
    """Nothing in reading recurses over the file's structure (no RecursionError traceback)."""
    path = tmp_path / "odd.pdparams"
    if shape == "self-referencing":
        value = []
        value.append(value)
        path.write_bytes(pickle.dumps({"x": value}, protocol=4))
    else:
        value = current = []
        for _ in range(5000):  # deeper than Python's recursion limit
            current.append([])
            current = current[0]
        _dump_deep(path, value)
    assert main(["generate", "--weights", str(path), *into(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no generator weights" in err[0], err


def _dump_deep(path, value):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)  # (the writer recurses; the reader must not)
    try:
        path.write_bytes(pickle.dumps({"x": value}, protocol=4))
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.slow
def test_our_training_checkpoint_loads_as_paddle_load_reads_it(tmp_path):
    images = noise_images(tmp_path / "images", n=4)
    out = run_script("tools/main.py", "-c", DEMO, "-o", *tiny(), f"dataset.train.dataroot={images}",
                     f"dataset.test.dataroot={images}", "total_iters=2", f"output_dir={tmp_path / 'run'}")
    assert out.returncode == 0, out.stderr[-2000:]
    (run,) = run_folders(tmp_path / "run")
    ckpt, weights = (os.path.join(run, f"iter_2_{kind}.pdparams") for kind in ("checkpoint", "weight"))
    for path in (ckpt, weights):
        _same(paddle.load(path), load_state(path), os.path.basename(path))


# ----------------------------------------------------------------------------- one home for unpickling

UNPICKLING_HOME = os.path.join("ppgan_stylegan", "core", "pickles.py")
# the benchmark times paddle.load against ours on a file it wrote itself
COMPARISON = os.path.join("ppgan_stylegan", "bench", "loading.py")


def _unpickling_calls(tree):
    """``paddle.load(...)``, ``pickle.load(s)(...)`` / ``pickle.Unpickler``, ``np.load(..., allow_pickle=True)`` and
    imports of ppgan's pickle ``load`` in a module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in (("paddle", "load"), ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler")):
                found.append((node.lineno, ".".join(pair)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" and \
                any(k.arg == "allow_pickle" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                    for k in node.keywords):
            found.append((node.lineno, "load(allow_pickle=...)"))
        if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "ppgan.utils.filesystem") and \
                any(a.name in ("load", "loads", "Unpickler") for a in node.names):
            found.append((node.lineno, f"from {node.module} import load"))
    return found


def test_only_the_one_home_unpickles():
    paths = [p for d in ("ppgan_stylegan", "tools", "applications")
             for p in glob.glob(os.path.join(ROOT, d, "**", "*.py"), recursive=True) if not p.endswith(COMPARISON)]
    found = [f"{os.path.relpath(p, ROOT)}:{line}: {what}" for p in paths if not p.endswith(UNPICKLING_HOME)
             for line, what in _unpickling_calls(ast.parse(open(p).read()))]
    assert not found, found


def test_the_unpickling_check_catches_each_form():
    code = ("import paddle, pickle, numpy as np\nfrom ppgan.utils.filesystem import load\n"
            "a = paddle.load('x')\nb = pickle.loads(b'')\nc = np.load('x', allow_pickle=True)\nd = np.load('x')\n")
    assert sorted(what for _, what in _unpickling_calls(ast.parse(code))) == \
        sorted(["from ppgan.utils.filesystem import load", "paddle.load", "pickle.loads", "load(allow_pickle=...)"])
