"""Two CPU ranks through paddle.distributed.launch vs one process over the same global batch."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import DEMO, ROOT, noise_images, run_folders, tiny
from ppgan_stylegan.core.state import load_state

pytestmark = pytest.mark.slow  # subprocess runs / training (make test-fast skips them)

# minibatch-stddev groups never cross ranks (as on NVlabs' GPUs); group 1 makes D per-sample, so the
# 2-rank and 1-process runs see the same function of the global batch
# and replicated draws (every rank draws the global batch's latents and noise and keeps its slice), so that the
# runs can be compared number for number; by default each rank draws only its own share (tested below)
TINY = tiny({"model.mixing_prob": 0.5, "log_config.visiual_interval": 1000, "snapshot_config.interval": 1000,
             "model.discriminator.stddev_group": 1, "total_iters": 6, "dataset.train.batch_size": None,
             "model.replicate_draws": "true"})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return noise_images(tmp_path_factory.mktemp("dp_data"), n=16)


def _main(data):
    main = [os.path.join(ROOT, "tools", "main.py"), "-c", DEMO, "--device", "cpu", "--seed", "3", "-o", *TINY,
            f"dataset.train.dataroot={data}"]
    return main + [f"dataset.test.dataroot={data}", "validate.interval=6"]  # SWD of gen_ema on the 16 images


@pytest.fixture(scope="module")
def one_process(data, tmp_path_factory):
    """The run folder of one process over the global batch of 4 (what the multi-process runs must equal)."""
    out = tmp_path_factory.mktemp("one")
    one = subprocess.run([sys.executable, *_main(data), "dataset.train.batch_size=4", "dataset.test.batch_size=8",
                          f"output_dir={out}"], capture_output=True, text=True, timeout=600, cwd=out)
    assert one.returncode == 0, one.stderr[-2000:]
    (run_one,) = run_folders(out)
    return run_one


def assert_equal_runs(run_one, run_two):
    """Weights, path-length mean, logged losses and the final SWD of a 2-rank run equal the one-process run's."""
    a, b = load_state(os.path.join(run_one, "iter_6_checkpoint.pdparams")), \
        load_state(os.path.join(run_two, "iter_6_checkpoint.pdparams"))
    for net in ("gen", "disc", "gen_ema"):  # float32 sums over batches of 2 and of 4 differ in rounding
        for key in a[net]:
            wa, wb = np.asarray(a[net][key]), np.asarray(b[net][key])
            assert np.abs(wa - wb).max() <= 1e-5 * max(1.0, np.abs(wa).max()), (net, key)
    assert abs(a["model_state"]["mean_path_length"] - b["model_state"]["mean_path_length"]) <= 1e-5
    hist_one, hist_two = (json.load(open(os.path.join(r, "history.json"))) for r in (run_one, run_two))
    h_one = [h["losses"] for h in hist_one if "losses" in h]
    h_two = [h["losses"] for h in hist_two if "losses" in h]
    # validation: each rank evaluates its shard, batches are gathered, so the SWD covers all 16 images in the
    # one-process order (fakes drawn for the global batch): the same value as one process
    swd_one, swd_two = ([h["metrics"]["swd"] for h in hist if "metrics" in h] for hist in (hist_one, hist_two))
    assert len(swd_one) == len(swd_two) == 1 and abs(swd_one[0] - swd_two[0]) <= 1e-3 * abs(swd_one[0]), \
        (swd_one, swd_two)
    assert len(h_one) == len(h_two) == 6 and "l_d_r1" in h_one[0] and "l_g_path" in h_one[0]
    for x, y in zip(h_one, h_two):  # logged losses are global-batch means on both
        assert x.keys() == y.keys() and all(abs(x[k] - y[k]) <= 1e-5 for k in x), (x, y)


def test_two_ranks_stay_identical_and_equal_one_process(data, one_process, tmp_path):
    two = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                          str(tmp_path / "launch"), *_main(data), "dataset.train.batch_size=2",
                          "dataset.test.batch_size=4", f"output_dir={tmp_path / 'two'}", "--check-replicas", "1"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    logs = [open(tmp_path / "launch" / f"workerlog.{r}").read() for r in (0, 1)]
    assert two.returncode == 0, two.stdout[-2000:] + logs[0][-2000:] + logs[1][-2000:]

    # every rank's weights (all nets and buffers) identical after every iteration, R1 / path-length ones included
    for it in range(1, 7):
        assert f"iteration {it}: 2 replica(s) identical" in logs[0], logs[0][-3000:]
    assert "batch 2 per rank x 2 rank(s) = global batch 4" in logs[0]
    # only rank 0 writes: one run folder, and no save in rank 1's log
    (run_two,) = run_folders(tmp_path / "two")
    assert "saved" in logs[0] and "saved" not in logs[1]
    assert os.path.isfile(os.path.join(run_two, "log.txt.rank1"))  # rank 1 uses rank 0's run folder
    assert_equal_runs(one_process, run_two)


def test_two_nodes_on_loopback_equal_one_process(data, one_process, tmp_path):
    """Two launchers (``--nnodes 2 --master 127.0.0.1:PORT``), one rank each, as two machines would run them:
    the logs say which node and rank, only global rank 0 writes, the result equals one process."""
    with socket.socket() as s:  # a free port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nodes = [subprocess.Popen([sys.executable, "-m", "paddle.distributed.launch", "--nnodes", "2", "--master",
                               f"127.0.0.1:{port}", "--nproc_per_node", "1", "--log_dir", str(tmp_path / f"node{n}"),
                               *_main(data), "dataset.train.batch_size=2", "dataset.test.batch_size=4",
                               f"output_dir={tmp_path / 'nodes'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
             for n in (0, 1)]
    outs = [node.communicate(timeout=600)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outs[0][-1500:] + outs[1][-1500:]
    (run,) = run_folders(tmp_path / "nodes")
    logs = [open(os.path.join(run, name)).read() for name in ("log.txt", "log.txt.rank1")]  # rank 0's, rank 1's
    for r, log in enumerate(logs):
        assert re.search(rf"rank {r} of 2, node {r} of 2 \(.*\), local rank 0: data parallel", log), log[-2000:]
    assert "saved" in logs[0] and "saved" not in logs[1]  # only global rank 0 writes
    assert_equal_runs(one_process, run)


def test_psp_two_ranks_keep_identical_replicas(tmp_path):
    """pSp under 2 ranks: gradients and BatchNorm running statistics averaged, weights identical every step."""
    import paddle
    from ppgan_stylegan import StyleGAN2Generator
    paddle.seed(1)
    g = StyleGAN2Generator(16, style_dim=32, n_mlp=2, channel_multiplier=1, channel_base=1024, channel_max=64)
    weights = str(tmp_path / "g.pdparams")
    paddle.save({"gen_ema": g.state_dict()}, weights)
    gen = {"size": 16, "style_dim": 32, "channel_base": 1024, "channel_max": 64}
    out = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                          str(tmp_path / "launch"), os.path.join(ROOT, "tools", "main.py"), "-c",
                          os.path.join(ROOT, "configs", "psp_demo.yaml"), "--device", "cpu", "--check-replicas", "1",
                          "-o", f"model.generator_weights={weights}", "total_iters=4", "validate.interval=-1",
                          "log_config.interval=1", "log_config.visiual_interval=1000", "snapshot_config.interval=4",
                          "dataset.train.batch_size=4", "model.encoder.input_size=16", "dataset.train.style_dim=32",
                          *[f"model.generator.{k}={v}" for k, v in gen.items()], f"output_dir={tmp_path / 'run'}"],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = open(tmp_path / "launch" / "workerlog.0").read()
    assert out.returncode == 0, log[-3000:]
    for it in range(1, 5):
        assert f"iteration {it}: 2 replica(s) identical" in log


GATHER = """
import ppgan_stylegan
import paddle.distributed as dist
from ppgan_stylegan.core.distributed import gather_strings
dist.init_parallel_env()
rank = dist.get_rank()
print("GATHERED", gather_strings(["run/iter_4_checkpoint.pdparams", ""][rank]), gather_strings(["a", "bcd"][rank]))
"""


def run_on_two_ranks(tmp_path, source):
    """Run the script ``source`` on two CPU ranks; each rank's log."""
    script = tmp_path / "script.py"
    script.write_text(source)
    out = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                          str(tmp_path / "launch"), str(script)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=ROOT))
    logs = [open(tmp_path / "launch" / f"workerlog.{r}").read() for r in (0, 1)]
    assert out.returncode == 0, out.stdout[-1500:] + logs[0][-1500:] + logs[1][-1500:]
    return logs


DRAWS = """
import json
from ppgan_stylegan.core.distributed import randn_local, replicate_draws  # (before Paddle: its CPU settings)
from ppgan_stylegan.engine import seed_everything
import paddle
import paddle.distributed as dist
dist.init_parallel_env()
rank, draws = dist.get_rank(), {}
for replicated in (False, True):
    replicate_draws(replicated)
    seed_everything(7, 3, 0 if replicated else rank)  # (the trainer's seeding of an iteration)
    draws[str(replicated)] = randn_local([2, 3], 2).numpy().tolist()
seed_everything(7, 3, 0)
draws["global"] = paddle.randn([4, 3]).numpy().tolist()
print("DRAWS", json.dumps(draws))
"""


def test_each_rank_draws_its_own_share_or_its_slice_of_the_global_batch(tmp_path):
    """Default: each rank draws only ``batch`` rows, from its own seed (different on each rank, the same on a
    rerun: resume stays exact); replicated: rank r's rows are rows ``2r, 2r + 1`` of the global batch's draw."""
    logs = run_on_two_ranks(tmp_path, DRAWS)
    draws = [json.loads(re.search(r"DRAWS (.*)", log).group(1)) for log in logs]
    for r, d in enumerate(draws):
        np.testing.assert_array_equal(d["True"], d["global"][2 * r:2 * r + 2])
        assert np.asarray(d["False"]).shape == (2, 3)
    assert not np.allclose(draws[0]["False"], draws[1]["False"])


def test_gather_strings_of_different_lengths(tmp_path):
    """Strings of different lengths (rank 0's newest checkpoint, nothing elsewhere: the rollback's agreement)
    reach every rank whole; all_gather alone needs equal shapes."""
    for log in run_on_two_ranks(tmp_path, GATHER):
        assert "GATHERED ['run/iter_4_checkpoint.pdparams', ''] ['a', 'bcd']" in log, log[-1500:]


def _worker_pids(launcher_pid):
    """{rank: pid} of a launcher's worker processes (their ``PADDLE_TRAINER_ID``)."""
    workers = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if parent != launcher_pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            workers[int(env[b"PADDLE_TRAINER_ID"])] = int(entry)
        except (OSError, ValueError, IndexError, KeyError):
            continue
    return workers


def _launch_long_run(data, tmp_path, name, extra=()):
    """Two ranks on a run of 100000 iterations (checkpoints every 5): stopped from outside by the test."""
    overrides = tiny({"model.discriminator.stddev_group": 1, "snapshot_config.interval": 5, "total_iters": 100000,
                      "log_config.visiual_interval": 100000, "dataset.train.batch_size": 2})
    main = [os.path.join(ROOT, "tools", "main.py"), "-c", DEMO, "--device", "cpu", "--seed", "3", "-o", *overrides,
            f"dataset.train.dataroot={data}", f"output_dir={tmp_path / name}", *extra]
    launcher = subprocess.Popen([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                                 "--log_dir", str(tmp_path / f"{name}-launch"), *main],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    return launcher, main


def _when_checkpointed(launcher, tmp_path, name, iteration=10, limit=300):
    """The worker pids once rank 0 has written the checkpoint of ``iteration`` (bounded in time)."""
    log, start = tmp_path / f"{name}-launch" / "workerlog.0", time.time()
    while time.time() - start < limit and launcher.poll() is None:
        if log.exists() and f"iter_{iteration}_checkpoint" in log.read_text():
            return _worker_pids(launcher.pid)
        time.sleep(0.5)
    launcher.kill()
    raise AssertionError(f"no checkpoint {iteration} within {limit} s: {log.read_text()[-2000:] if log.exists() else ''}")


def test_sigterm_to_one_rank_stops_every_rank_after_the_same_iteration(data, tmp_path):
    """The stop request rides on the iteration's first all-reduce: both ranks stop after the same iteration,
    rank 0 writes that iteration's checkpoint, the job exits 0."""
    launcher, _ = _launch_long_run(data, tmp_path, "term")
    workers = _when_checkpointed(launcher, tmp_path, "term")
    os.kill(workers[1], signal.SIGTERM)
    out, _ = launcher.communicate(timeout=120)
    logs = [(tmp_path / "term-launch" / f"workerlog.{r}").read_text() for r in (0, 1)]
    assert launcher.returncode == 0, out[-2000:] + logs[0][-2000:]
    stopped = [re.search(r"stopped by (.+?) after iteration (\d+); checkpoint: (\S+)", log) for log in logs]
    assert stopped[0] and stopped[1], logs[0][-1500:] + logs[1][-1500:]
    assert stopped[0].group(1) == "a signal to another rank" and stopped[1].group(1) == "SIGTERM"
    assert stopped[0].group(2) == stopped[1].group(2) and int(stopped[0].group(2)) > 10
    assert os.path.isfile(stopped[0].group(3)) and "saved" not in logs[1]
    assert load_state(stopped[0].group(3))["model_state"]["current_iter"] == int(stopped[0].group(2))


def test_a_killed_rank_ends_the_job_in_one_line_and_resume_continues_exactly(data, tmp_path):
    """SIGKILL to rank 1: the launcher ends the job (non-zero), rank 0 says in one line which rank it lost and
    where to resume, no traceback; the newest checkpoint resumes with two ranks to the same weights as an
    uninterrupted two-rank run."""
    launcher, main = _launch_long_run(data, tmp_path, "kill")
    os.kill(_when_checkpointed(launcher, tmp_path, "kill")[1], signal.SIGKILL)
    out, _ = launcher.communicate(timeout=120)
    log = (tmp_path / "kill-launch" / "workerlog.0").read_text()
    assert launcher.returncode != 0
    lost = re.search(r"error: rank 0: lost rank 1 during iteration \d+ \(.*\); continue with --resume (\S+)", log)
    assert lost and "Traceback" not in log, log[-3000:]
    newest = lost.group(1)
    done = int(re.search(r"iter_(\d+)_checkpoint", newest).group(1))
    runs = {}
    for name, extra in (("resumed", ["--resume", newest]), ("straight", [])):
        cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
               str(tmp_path / f"{name}-launch"), *main, f"total_iters={done + 2}",
               f"output_dir={tmp_path / name}", *extra]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-2000:]
        (folder,) = [os.path.dirname(newest)] if extra else run_folders(tmp_path / name)  # (resume: its run folder)
        runs[name] = load_state(os.path.join(folder, f"iter_{done + 2}_checkpoint.pdparams"))
    for net in ("gen", "disc", "gen_ema"):
        for key, value in runs["straight"][net].items():
            np.testing.assert_array_equal(np.asarray(runs["resumed"][net][key]), np.asarray(value), err_msg=key)
