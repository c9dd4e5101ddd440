"""Bad input through the real CLIs (one line, exit 2, nothing on disk changed) and SIGKILL during checkpointing."""
import glob
import hashlib
import os
import signal
import subprocess
import time

import paddle
import pytest

from conftest import DEMO, MAIN, ROOT, noise_images, run_folders, run_script, tiny
from ppgan_stylegan import StyleGAN2Generator
from ppgan_stylegan.core.state import load_state

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)

TINY = tiny({"log_config.visiual_interval": 1000, "snapshot_config.interval": 1})


def snapshot(root):
    """{path: sha256} of every file under root but logs (ppgan's logger appends to the run folder's log.txt)."""
    out = {}
    for path in glob.glob(os.path.join(root, "**", "*"), recursive=True):
        if os.path.isfile(path) and os.path.basename(path) != "log.txt":
            with open(path, "rb") as f:
                out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Good data, a previous run's checkpoint, and the bad inputs the cases refer to."""
    root = tmp_path_factory.mktemp("world")
    good = noise_images(root / "good", sizes=(8,))
    prev = root / "prev"
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={good}", "total_iters=2",
                     f"output_dir={prev}")
    assert out.returncode == 0, out.stderr[-2000:]
    ckpt = glob.glob(str(prev / "*" / "iter_2_checkpoint.pdparams"))[0]
    paddle.seed(0)
    other = StyleGAN2Generator(8, style_dim=32, n_mlp=2, channel_base=64, channel_max=16)
    paddle.save({"gen": other.state_dict(), "gen_ema": other.state_dict()}, str(root / "other_arch.pdparams"))
    with open(ckpt, "rb") as f:
        data = f.read()
    (root / "truncated.pdparams").write_bytes(data[: len(data) // 3])
    (root / "network-snapshot.pkl").write_bytes(b"\x80\x04not really a network")
    (root / "notes.pdparams").write_text("these are my notes, not weights\n")
    (root / "a_file").write_text("x")
    os.makedirs(root / "empty")
    bad = root / "unreadable"
    os.makedirs(bad)
    for i in range(3):
        (bad / f"{i}.png").write_bytes(b"not a png at all")
    noise_images(root / "mixed", sizes=(8, 16))
    noise_images(root / "big", sizes=(16,))
    text = open(DEMO).read()
    assert "\ntotal_iters:" in text
    (root / "typo.yaml").write_text(text.replace("\ntotal_iters:", "\ntotal_iter:"))
    return {"root": root, "good": good, "ckpt": ckpt}


CASES = [  # (extra -o options, extra CLI arguments, expected text in the one-line error)
    (["model.r1_gama=5"], [], "model.r1_gama: unknown key (did you mean 'r1_gamma'?)"),
    (["model.generator.chanel_max=16"], [], "model.generator.chanel_max: unknown key (did you mean 'channel_max'?)"),
    (["model.generator.name=StyleGAN2Generatr"], [], "'StyleGAN2Generatr' is not registered (did you mean "
                                                     "'StyleGAN2Generator'?)"),
    (["dataset.train.hflp=true"], [], "dataset.train.hflp: unknown key (did you mean 'hflip'?)"),
    (["model.generator.size=24"], [], "model.generator.size: expected a power of two between 8 and 1024, got 24"),
    (["snapshot_config.interval=-5"], [], "snapshot_config.interval: expected an integer >= 1, got -5"),
    (["model.r1_interval=0"], [], "model.r1_interval: expected an integer >= 1, got 0"),
    (["model.mixing_prob=1.5"], [], "model.mixing_prob: expected a probability in [0, 1], got 1.5"),
    (["dataset.train.dataroot={root}/missing"], [], "missing' is not a folder"),
    (["dataset.train.dataroot={root}/empty"], [], "dataset.dataroot: no images"),
    (["dataset.train.dataroot={root}/unreadable"], [], "none of the 3 images"),
    (["dataset.train.dataroot={root}/mixed"], [], "images of mixed sizes"),
    (["dataset.train.dataroot={root}/big"], [], "are 16x16, the config needs 8x8"),
    ([], ["--load", "{root}/other_arch.pdparams"], "weights do not fit the model's 'gen'"),
    ([], ["--load", "{root}/other_arch.pdparams"], "style.1.weight: file [32, 32] vs model [16, 16]"),
    ([], ["--resume", "{root}/truncated.pdparams"], "truncated.pdparams: not a readable Paddle weight file"),
    ([], ["--resume", "{root}/network-snapshot.pkl"], "an NVIDIA network pickle: convert it first"),
    ([], ["--load", "{root}/notes.pdparams"], "notes.pdparams: not a readable Paddle weight file"),
    ([], ["--load", "{root}/nothing.pdparams"], "nothing.pdparams: no such file"),
    ([], ["--resume", "{root}/other_arch.pdparams"], "not a training checkpoint (missing 'epoch')"),
    (["output_dir={root}/a_file/runs"], [], "cannot create (Not a directory)"),
    # the blocks ppgan builds (Paddle's optimizers and schedulers) are checked too
    (["optimizer.optimG.learning_rate=0.01"], [], "optimizer.optimG.learning_rate: set by the trainer, not here"),
    (["optimizer.optimD.betta1=0.5"], [], "optimizer.optimD.betta1: unknown key (did you mean 'beta1'?)"),
    (["optimizer.optimG.beta2=1.5"], [], "optimizer.optimG.beta2: expected a number in [0, 1], got 1.5"),
    (["optimizer.optimG.name=Adamw"], [], "optimizer.optimG.name: 'Adamw' is not registered (did you mean 'Adam'?)"),
    (["lr_scheduler.gama=0.5"], [], "lr_scheduler.gama: unknown key (did you mean 'gamma'?)"),
    (["dataset.train.num_workers=-1"], [], "dataset.train.num_workers: expected an integer >= 0, got -1"),
    (["dataset.train.hflip=maybe"], [], "dataset.train.hflip: expected true or false, got 'maybe'"),
]


@pytest.mark.parametrize("opts,args,message", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(world, opts, args, message):
    root = str(world["root"])
    before = snapshot(root)
    opts = [o.format(root=root) for o in opts]
    args = [a.format(root=root) for a in args]
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}",
                     f"dataset.test.dataroot={world['good']}", "total_iters=2", f"output_dir={root}/runs", *opts, *args)
    assert out.returncode == 2, out.stdout[-1500:] + out.stderr[-1500:]
    assert message in out.stderr, out.stderr[-1500:]
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr[-1500:]
    after = snapshot(root)
    assert {p: h for p, h in after.items() if p in before} == before  # nothing that existed was touched
    assert not [p for p in after if p not in before and p.endswith(".pdparams")]  # and no weights written


def test_yaml_syntax_error_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("total_iters: 10\nmodel:\n  name: StyleGANModel\n  generator: {name: StyleGAN2Generator\n")
    out = run_script("tools/main.py", "-c", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-1500:]
    assert out.stderr.strip().splitlines() == [f"error: {bad}:5:1: not valid YAML (expected ',' or '}}', but got "
                                               "'<stream end>')"]


def test_misspelt_top_level_key_in_a_yaml_file(world):
    out = run_script("tools/main.py", "-c", str(world["root"] / "typo.yaml"))
    assert out.returncode == 2 and "config.total_iter: unknown key (did you mean 'total_iters'?)" in out.stderr


def test_resume_explains_changed_config_and_versions(world, tmp_path):
    from ppgan.utils.filesystem import load, save
    ckpt = tmp_path / "iter_2_checkpoint.pdparams"
    state = load(world["ckpt"])
    state["meta"]["versions"]["paddle"] = "2.6.0"  # as if written on another Paddle
    save(state, str(ckpt))
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}", "total_iters=3",
                     "model.r1_gamma=2.0", "--resume", str(ckpt))
    assert out.returncode == 0, out.stderr[-2000:]
    log = open(tmp_path / "log.txt").read()
    assert "model.r1_gamma was 1.0 when it was written, now 2.0" in log
    assert f"written with paddle 2.6.0, running {paddle.__version__}" in log


def newest_checkpoint(run_dir):
    ckpts = glob.glob(os.path.join(run_dir, "iter_*_checkpoint.pdparams"))
    return max(ckpts, key=lambda p: int(os.path.basename(p).split("_")[1])) if ckpts else None


def test_sigkill_while_checkpointing_never_loses_the_newest_complete_checkpoint(world, tmp_path):
    """A checkpoint every iteration; SIGKILL at varied moments, three times. Each time the newest
    checkpoint on disk loads and the next run resumes from it; a final resume completes."""
    out_dir = tmp_path / "killed"
    common = MAIN + ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}", "total_iters=100000",
                     f"output_dir={out_dir}"]
    resume, iterations = [], []
    for delay in (0.0, 0.37, 0.81):
        proc = subprocess.Popen(common + resume, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline, start_ckpt = time.time() + 300, resume[1] if resume else None
        while time.time() < deadline:  # wait for a checkpoint newer than the one we started from
            run_dirs = run_folders(out_dir)
            newest = newest_checkpoint(run_dirs[0]) if run_dirs else None
            if newest and newest != start_ckpt:
                break
            assert proc.poll() is None, "training exited early"
            time.sleep(0.05)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        (run_dir,) = run_folders(out_dir)
        newest = newest_checkpoint(run_dir)
        state = load_state(newest)  # complete and readable
        assert {"gen", "disc", "gen_ema", "optimG", "optimD", "epoch", "meta"} <= set(state)
        iterations.append(int(state["epoch"]))
        resume = ["--resume", newest]
    assert iterations == sorted(iterations) and iterations[-1] > iterations[0]
    k = iterations[-1]
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}",
                     f"total_iters={k + 2}", f"output_dir={out_dir}", *resume)
    assert out.returncode == 0, out.stderr[-2000:]
    assert os.path.isfile(os.path.join(run_dir, f"iter_{k + 2}_checkpoint.pdparams"))
    assert not [f for f in os.listdir(run_dir) if ".tmp-" in f]  # half-written files of killed runs are gone


def test_load_a_bare_generator_file_into_gen_and_gen_ema(world, tmp_path):
    """--load of a PaddleGAN-style generator .pdparams (no 'gen' entry) initialises gen and gen_ema."""
    paddle.seed(5)
    g = StyleGAN2Generator(8, style_dim=16, n_mlp=2, channel_multiplier=1, channel_base=64, channel_max=16)
    path = str(tmp_path / "stylegan2_generator.pdparams")
    paddle.save({k: v for k, v in g.state_dict().items() if not k.startswith("w_avg")}, path)
    out = run_script("tools/main.py", "-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}",
                     f"dataset.test.dataroot={world['good']}", f"output_dir={tmp_path / 'run'}",
                     "--evaluate-only", "--load", path)
    assert out.returncode == 0, out.stderr[-2000:]
    (run,) = run_folders(tmp_path / "run")
    assert f"loaded gen, gen_ema from {path}" in open(os.path.join(run, "log.txt")).read()


def _file_size_limit(limit):
    """preexec_fn: the child may not grow any file beyond ``limit`` bytes (writes fail with EFBIG, as on a full
    disk; Python ignores SIGXFSZ)."""
    import resource

    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_failed_checkpoint_write_is_one_line_exit_4_and_keeps_the_previous(world, tmp_path):
    """Storage fails while the iteration-4 checkpoint is written (fault injection: a file size limit under the
    checkpoint's size). One line naming the file and the cause, exit 4, no partial file, the iteration-2
    checkpoint unchanged; without the limit the run resumes from it and finishes. snapshot_config.keep bounds
    how many checkpoints stay."""
    out_dir = tmp_path / "runs"
    common = ["-c", DEMO, "-o", *TINY, f"dataset.train.dataroot={world['good']}", f"output_dir={out_dir}",
              "snapshot_config.interval=2", "snapshot_config.keep=2"]
    first = run_script("tools/main.py", *common, "total_iters=2")
    assert first.returncode == 0, first.stderr[-2000:]
    (run_dir,) = run_folders(out_dir)
    ckpt = os.path.join(run_dir, "iter_2_checkpoint.pdparams")
    before = snapshot(run_dir)
    # between the weight file's size and the checkpoint's: the weights of iteration 4 are written, its checkpoint not
    limit = (os.path.getsize(ckpt) + os.path.getsize(os.path.join(run_dir, "iter_2_weight.pdparams"))) // 2
    proc = subprocess.run([*MAIN, *common, "total_iters=4", "--resume", ckpt], text=True, capture_output=True,
                          timeout=600, preexec_fn=_file_size_limit(limit))
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert lines[0].startswith("error: ") and "iter_4_checkpoint.pdparams" in lines[0] and "File too large" in \
        lines[0] and "while training, iteration 4" in lines[0], lines
    assert snapshot(run_dir)[ckpt] == before[ckpt]  # the previous checkpoint is untouched
    assert not [f for f in os.listdir(run_dir) if ".tmp-" in f or f == "iter_4_checkpoint.pdparams"]
    again = run_script("tools/main.py", *common, "total_iters=6", "--resume", ckpt)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(f for f in os.listdir(run_dir) if f.endswith("_checkpoint.pdparams")) == \
        ["iter_4_checkpoint.pdparams", "iter_6_checkpoint.pdparams"]  # keep: 2


def test_an_application_that_cannot_write_is_one_line_exit_4(tmp_path):
    """generate under a file-size limit smaller than its grid PNG: one line naming the file, exit 4."""
    paddle.seed(2)
    weights = str(tmp_path / "g.pdparams")
    paddle.save({"gen_ema": StyleGAN2Generator(8, style_dim=8, n_mlp=1, channel_max=8).state_dict()}, weights)
    proc = subprocess.run([*MAIN[:1], os.path.join(ROOT, "applications", "generate.py"), "--weights", weights,
                           "--seeds", "0-3", "--no-latents", "--outdir", str(tmp_path / "out")], text=True,
                          capture_output=True, timeout=300, preexec_fn=_file_size_limit(64))
    assert proc.returncode == 4, proc.stdout[-1500:] + proc.stderr[-1500:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "seeds.png: File too large (while running generate)" in lines[0], lines
    assert run_folders(tmp_path / "out") == []  # no partial file, and the run folder it made is gone again
