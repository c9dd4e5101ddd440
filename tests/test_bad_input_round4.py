"""Data that fails while training runs (issue 40, items 1-2): a bad image inside a zip ends the run in one line,
a SIGTERM stops a run whose loader is stuck, a zip bomb member is skipped without inflating it. Real subprocess
runs of tools/main.py, with one loader thread (num_workers 0) and with a worker process."""
import hashlib
import io
import os
import signal
import subprocess
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import DEMO, MAIN, run_folders, tiny
from ppgan_stylegan.core.state import load_state

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)

TINY = tiny({"log_config.visiual_interval": 1000, "snapshot_config.interval": 1000, "log_config.interval": 1})


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def png(size, seed):
    buffer = io.BytesIO()
    Image.fromarray(np.random.RandomState(seed).randint(0, 255, [size, size, 3]).astype("uint8")).save(buffer, "PNG")
    return buffer.getvalue()


def dataset_zip(path, n=24, odd=None, bomb=None):
    """An NVlabs-layout zip of ``n`` 8 px PNGs; member ``odd`` 4 px, member ``bomb`` 1 GiB of zeros (deflated:
    about 1 MB on disk)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            name = f"00000/img{i:08d}.png"
            if i == bomb:
                with z.open(name, "w", force_zip64=True) as member:
                    zeros = bytes(1 << 24)
                    for _ in range(64):
                        member.write(zeros)
            else:
                z.writestr(name, png(4 if i == odd else 8, i))
    return str(path)


def train(data, out, *extra, workers=0):
    return [*MAIN, "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
            f"dataset.train.num_workers={workers}", f"output_dir={out}", *extra]


@pytest.mark.parametrize("workers", [0, 1])
def test_a_bad_image_inside_a_zip_ends_the_run_in_one_line(tmp_path, workers):
    """Only the first image of a zip is checked up front; the 4 px member 13 is met by the loader: one line
    naming it and exit 2 (it used to print a traceback from the loader thread and hang for good)."""
    data = dataset_zip(tmp_path / "mixed.zip", odd=13)
    before = sha256(data)
    start = time.time()
    proc = subprocess.run(train(data, tmp_path / "out", "total_iters=200", workers=workers), capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "img00000013.png: image is 4x4, the config needs 8x8" in proc.stderr
    assert "Traceback" not in proc.stderr and time.time() - start < 240
    assert sha256(data) == before


def test_a_bad_image_in_the_validation_set_ends_the_run_in_one_line(tmp_path):
    """The same bad member in dataset.test, met by ppgan's validation loop (Trainer.test): one line, exit 2."""
    from conftest import noise_images
    good, bad = noise_images(tmp_path / "good", n=8), dataset_zip(tmp_path / "mixed.zip", odd=13)
    cmd = train(good, tmp_path / "out", "total_iters=4", "validate.interval=2")
    cmd[cmd.index(f"dataset.test.dataroot={good}")] = f"dataset.test.dataroot={bad}"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "img00000013.png: image is 4x4, the config needs 8x8" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("workers", [0, 1])
def test_sigterm_stops_a_run_whose_loader_is_stuck(tmp_path, workers):
    """The 40th image read never returns (PPGAN_STYLEGAN_FAULT_STUCK_LOADER): SIGTERM then ends the run within
    seconds, with the checkpoint of the last complete iteration, which a resume continues from."""
    from conftest import noise_images
    data = noise_images(tmp_path / "faces", n=100)  # (the 40th read falls in the first epoch's worker)
    env = dict(os.environ, PPGAN_STYLEGAN_FAULT_STUCK_LOADER="40")
    proc = subprocess.Popen(train(data, tmp_path / "out", "total_iters=200", workers=workers), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    while time.time() < deadline and not (run_folders(tmp_path / "out") and _iterations(tmp_path / "out") >= 5):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    time.sleep(3.0)  # the loader is stuck by now: 40 reads are 10 batches of 4
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    sent = time.time()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and time.time() - sent < 15, err[-3000:]
    assert "while waiting for data after iteration" in out + err and "Traceback" not in err
    (run,) = run_folders(tmp_path / "out")
    done = _iterations(tmp_path / "out")
    checkpoint = os.path.join(run, f"iter_{done}_checkpoint.pdparams")
    assert f"stopped by SIGTERM after iteration {done}; checkpoint: {checkpoint}" in out
    assert int(load_state(checkpoint)["epoch"]) == done
    resumed = subprocess.run(train(data, tmp_path / "out", f"total_iters={done + 2}", "--resume", checkpoint),
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert os.path.isfile(os.path.join(run, f"iter_{done + 2}_checkpoint.pdparams"))


def _iterations(out):
    """The last iteration logged in the run's log.txt (log interval 1)."""
    (run,) = run_folders(out)
    lines = [line for line in open(os.path.join(run, "log.txt")) if "Iter: " in line]
    return int(lines[-1].split("Iter: ")[1].split("/")[0]) if lines else 0


def test_a_zip_bomb_member_is_skipped_by_name_without_inflating_it(tmp_path):
    """Member 5 declares 1 GiB: it is skipped, named, before a byte is inflated (the bound for an 8 px image
    is about 1 MiB); the other 23 images train. Peak memory of the run stays far below the member's size."""
    data = dataset_zip(tmp_path / "bomb.zip", bomb=5)
    before = sha256(data)
    peak = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "print('peak-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
    proc = subprocess.run([MAIN[0], "-c", peak, *train(data, tmp_path / "out", "total_iters=12")],
                          capture_output=True, text=True, timeout=240)  # (the peak of this run alone)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "skipping unreadable image" in log and "img00000005.png" in log and "declares 1,073,741,824 bytes" in log
    assert "none of the" not in log and sha256(data) == before
    peak_mb = int(proc.stdout.split("peak-kb ")[1].split()[0]) / 1024
    assert peak_mb < 900, f"peak RSS {peak_mb:.0f} MB"


def test_weights_of_another_resolution_than_the_config_are_refused(tmp_path):
    """A 16 px generator file with a config of 8 px used to load with the extra layers dropped (wrong images,
    exit 0): one line naming the file's size and the config's, nothing written."""
    from conftest import ROOT, run_script
    from ppgan_stylegan import StyleGAN2Generator
    import paddle
    weights = str(tmp_path / "g16.pdparams")
    paddle.save({"gen_ema": StyleGAN2Generator(16, style_dim=16, n_mlp=2, channel_base=64,
                                               channel_max=16).state_dict()}, weights)
    config = tmp_path / "g8.yaml"
    config.write_text(open(os.path.join(ROOT, "configs", "stylegan_v2_demo.yaml")).read().replace(
        "    size: 32\n    style_dim: 128", "    size: 8\n    style_dim: 16").replace("channel_max: 32", "channel_max: 16"))
    before = sha256(weights)
    proc = run_script("applications/generate.py", "--weights", weights, "--config", config, "--seeds", "1",
                      "--outdir", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "weights do not fit the generator" in proc.stderr and "size 16 (the config: 8)" in proc.stderr
    assert not os.path.exists(tmp_path / "out") or not any(f.endswith(".png") for _, _, fs in
                                                           os.walk(tmp_path / "out") for f in fs)
    assert sha256(weights) == before


def test_a_conditional_config_with_more_classes_than_the_data_is_refused_unless_asked(tmp_path):
    """c_dim 3 on two class folders: one line with both numbers; model.allow_unused_classes: true trains."""
    from conftest import class_images
    data = class_images(tmp_path / "classes", n=4, size=8)
    extra = ["model.generator.c_dim=3", "model.discriminator.c_dim=3", "dataset.train.labels=folders",
             "total_iters=2", "snapshot_config.interval=2"]
    proc = subprocess.run(train(data, tmp_path / "out", *extra), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "model.generator.c_dim is 3 but dataset.train has 2 classes (0..1)" in proc.stderr
    assert "model.allow_unused_classes: true" in proc.stderr
    ok = subprocess.run(train(data, tmp_path / "out2", *extra, "model.allow_unused_classes=true"),
                        capture_output=True, text=True, timeout=240)
    assert ok.returncode == 0, ok.stderr[-2000:]


@pytest.fixture
def labelled_src(tmp_path):
    """Four 8 px images in --src, for label CSVs."""
    from conftest import noise_images
    return noise_images(tmp_path / "src", n=4)


def _prepare(src, csv_file, dst):
    from conftest import run_script
    return run_script("tools/prepare_dataset.py", "--src", src, "--dst", dst, "--size", "8", "--labels", csv_file)


def test_label_csvs_as_spreadsheets_save_them(labelled_src, tmp_path):
    """A UTF-8 byte-order mark, CRLF line ends, quoted fields and a header row read as the plain file does."""
    import json
    csv_file = tmp_path / "labels.csv"
    csv_file.write_bytes(b"\xef\xbb\xbf" + b'"name","label"\r\n"0.png","1"\r\n1.png,0\r\n"2.png", 2\r\n3.png,1\r\n')
    proc = _prepare(labelled_src, csv_file, tmp_path / "dst.zip")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with zipfile.ZipFile(tmp_path / "dst.zip") as z:
        labels = json.loads(z.read("dataset.json"))["labels"]
    assert sorted(label for _, label in labels) == [0, 1, 1, 2]


@pytest.mark.parametrize("content, message", [
    (b"0.png,1\n1.png,-1\n2.png,0\n3.png,0\n", "line 2 is '1.png,-1'; expected name,label with a non-negative"),
    (b"0.png,1\n1.png,0\n2.png,0\n3.png,0\n9.png,1\n", "line 5 names '9.png', which is not an image of --src"),
    (b"0.png,1\n1.png,0\n2.png,0\n3.png,0\n1.png,2\n", "line 5 gives '1.png' label 2, line 2 gave 0"),
    (b"0.png,1\n1.png,0\n", "2 image(s) have no row"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", "not a UTF-8 text file"),
])
def test_bad_label_csvs_are_one_line_naming_the_row(labelled_src, tmp_path, content, message):
    csv_file = tmp_path / "labels.csv"
    csv_file.write_bytes(content)
    (tmp_path / "dst.zip").write_bytes(b"an older file the refusal must not touch")
    before = sha256(tmp_path / "dst.zip")
    proc = _prepare(labelled_src, csv_file, tmp_path / "dst.zip")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert message in proc.stderr and proc.stderr.count("\n") == 1
    assert sha256(tmp_path / "dst.zip") == before


@pytest.fixture(scope="module")
def numeric_world(tmp_path_factory):
    """A generator file, a folder, and latents / directions full of NaN, for the numeric argument cases."""
    from conftest import tiny_generator_file
    root = tmp_path_factory.mktemp("numeric")
    weights = tiny_generator_file(root)
    n_latent, dim = 6, 16  # (the 16 px generator of tiny_generator_file)
    np.save(root / "nan_direction.npy", np.full([dim], np.nan, "float32"))
    np.save(root / "inf_latent.npy", np.full([n_latent, dim], np.inf, "float32"))
    (root / "a_folder").mkdir()
    return {"weights": weights, "root": root}


NUMERIC_CASES = {  # command, arguments (W: the weights, R: the fixture folder), what the one line says
    "fps 0": ("generate", ["--weights", "W", "--seeds", "0-1", "--video", "--fps", "0"],
              "argument --fps: expected an integer >= 1, got 0"),
    "seed past 2^32 - 1": ("generate", ["--weights", "W", "--seeds", "4294967296"], "seeds are 0..4294967295"),
    "NaN truncation": ("generate", ["--weights", "W", "--seeds", "1", "--trunc", "nan"],
                       "argument --trunc: expected a finite number, got 'nan'"),
    "NaN export check": ("export", ["--weights", "W", "--check-trunc", "nan"],
                         "argument --check-trunc/--check-psi: expected a finite number, got 'nan'"),
    "0 steps": ("project", ["--weights", "W", "--target", "R/nan_direction.npy", "--steps", "0"],
                "argument --steps: expected an integer >= 1, got 0"),
    "negative metrics count": ("metrics", ["--weights", "W", "--num", "-5"],
                               "argument --num: expected an integer >= 1, got -5"),
    "mix alpha 2": ("encode", ["--weights", "W", "--images", "R", "--mix-alpha", "2"],
                    "argument --mix-alpha: expected a finite number >= 0 and <= 1, got '2'"),
    "all-NaN direction": ("edit", ["--weights", "W", "--seed", "1", "--direction", "R/nan_direction.npy"],
                          "nan_direction.npy: 16 of 16 values are NaN or infinite"),
    "infinite latent": ("generate", ["--weights", "W", "--latents", "R/inf_latent.npy"],
                        "inf_latent.npy: 96 of 96 values are NaN or infinite"),
    "output file is a folder": ("convert", ["--src", "W", "--dst", "R/a_folder"],
                                "--dst R/a_folder: is a folder; expected the path of a file to write"),
    "blend into a folder": ("blend", ["--base", "W", "--tuned", "W", "--dst", "R/a_folder"],
                            "is a folder; expected the path of a file to write"),
}


@pytest.mark.parametrize("case", sorted(NUMERIC_CASES))
def test_numeric_arguments_and_non_finite_files_are_one_line(numeric_world, tmp_path, case):
    import sys
    from conftest import ROOT, into
    command, args, message = NUMERIC_CASES[case]
    root = str(numeric_world["root"])

    def fill(a):
        return a.replace("R/", root + "/").replace("R", root) if a.startswith("R") else (
            numeric_world["weights"] if a == "W" else a)
    before = {p: sha256(p) for p in (numeric_world["weights"], numeric_world["root"] / "nan_direction.npy")}
    outputs = [] if command in ("convert", "blend") else into(tmp_path / "out")
    proc = subprocess.run([sys.executable, "-m", "ppgan_stylegan.cli", command, *[fill(a) for a in args], *outputs],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert message.replace("R/", root + "/") in proc.stderr
    assert {p: sha256(p) for p in before} == before


def test_an_equality_check_never_passes_on_non_finite_images():
    from ppgan_stylegan.apps.export import _max_difference
    from ppgan_stylegan.core.errors import UserError
    same = np.zeros([1, 3, 4, 4], "float32")
    assert _max_difference(same, same + 0.5, "x") == 0.5
    with pytest.raises(UserError, match="not finite"):
        _max_difference(same * np.nan, same * np.nan, "x")  # (NaN > tolerance is false: it would pass)


def test_a_torch_zip_whose_member_inflates_past_the_archive_is_refused(tmp_path):
    """PyTorch stores checkpoint members uncompressed: a data.pkl that inflates to 256 MiB from a small zip is
    refused before it is inflated, by name, on every reader of .pt files (convert, encode, the safe reader)."""
    from ppgan_stylegan.core.errors import UserError
    from ppgan_stylegan.core.pickles import read_torch
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("archive/data.pkl", "w", force_zip64=True) as member:
            for _ in range(16):
                member.write(bytes(1 << 24))
    assert os.path.getsize(path) < (1 << 20)
    with pytest.raises(UserError, match=r"bomb.pt:archive/data.pkl: declares 268,435,456 bytes inflated"):
        read_torch(str(path))
    import sys
    from conftest import ROOT
    proc = subprocess.run([sys.executable, "-m", "ppgan_stylegan.cli", "convert", "--src", str(path), "--dst",
                           str(tmp_path / "x.pdparams")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "declares 268,435,456 bytes" in proc.stderr and "Traceback" not in proc.stderr
    assert not os.path.exists(tmp_path / "x.pdparams")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_to_the_whole_process_group_with_loader_workers(tmp_path, signum):
    """Ctrl-C in a terminal (SIGINT) or `kill -- -PGID` (SIGTERM) reach the loader worker too: the run still
    finishes its iteration, writes the checkpoint and exits 0 (Paddle's report of the killed worker spared)."""
    from conftest import noise_images
    data = noise_images(tmp_path / "faces", n=100)
    proc = subprocess.Popen(train(data, tmp_path / "out", "total_iters=100000", workers=1), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and not (run_folders(tmp_path / "out") and _iterations(tmp_path / "out") >= 3):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    os.killpg(proc.pid, signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    name = signal.Signals(signum).name
    stopped = [line for line in out.splitlines() if line.startswith(f"stopped by {name} after iteration")]
    assert stopped, out[-2000:]
    checkpoint = stopped[0].split("checkpoint: ")[1]
    assert int(load_state(checkpoint)["epoch"]) == int(stopped[0].split("iteration ")[1].split(";")[0])
