"""``enable_visualdl: true``: losses, learning rates, metrics, ADA's p, images/s and the sample grids reach
VisualDL's log (read back with VisualDL's own LogReader); without VisualDL installed, one line saying how to
install it."""
import glob
import json
import os

import pytest

from conftest import DEMO, noise_images, run_script, tiny
from ppgan_stylegan.core.config import load_config
from ppgan_stylegan.engine import ResumableTrainer, seed_everything

AUGMENT = "model.augment={policy: 'color,translation', p: 0.2, target: 0.6, interval: 1, kimg: 1}"

# a sitecustomize that makes `import visualdl` fail, as on a machine without the extra
WITHOUT_VISUALDL = '''
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "visualdl" or name.startswith("visualdl."):
            raise ModuleNotFoundError("No module named 'visualdl'")
sys.meta_path.insert(0, _Hide())
'''


def test_training_logs_to_visualdl(tmp_path):
    from visualdl import LogReader
    data = noise_images(tmp_path / "data", n=8)
    cfg = load_config(DEMO, tiny() + [f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}",
                                      "total_iters=4", "log_config.interval=1", "log_config.visiual_interval=2",
                                      "validate.interval=4", "enable_visualdl=true", AUGMENT])
    cfg.is_train, cfg.profiler_options, cfg.output_dir = True, None, str(tmp_path / "run")
    seed_everything(0)
    trainer = ResumableTrainer(cfg)
    trainer.train()
    trainer.vdl_logger.close()
    (record,) = glob.glob(str(tmp_path / "run" / "vdlrecords.*.log"))
    reader = LogReader(file_path=record)
    tags = reader.get_tags()
    scalars = set(tags["scalar"])
    assert {"l_d", "l_g", "real_score", "fake_score", "l_d_r1", "l_g_path", "aug_p", "lr/optimG", "lr/optimD",
            "images_per_second"} <= scalars, scalars
    metrics = [t for t in scalars if t.startswith("metrics/")]
    assert metrics, scalars  # the validation metric (SWD in the demo config)
    assert "visual_train/samples_ema" in tags["image"], tags["image"]
    history = json.load(open(os.path.join(str(tmp_path / "run"), "history.json")))
    logged = {h["iter"]: h["losses"]["l_d"] for h in history if "losses" in h}
    read = {entry.id: entry.value for entry in reader.get_data("scalar", "l_d")}
    assert sorted(read) == sorted(logged) and all(abs(read[i] - logged[i]) < 1e-5 for i in logged), (read, logged)
    value = [entry.value for entry in reader.get_data("scalar", metrics[0])]
    assert value == pytest.approx([h["metrics"][metrics[0].split("/", 1)[1]] for h in history if "metrics" in h])
    assert os.path.isfile(tmp_path / "run" / "visual_train" / "iter002_samples_ema.png")  # the PNGs still written


@pytest.mark.slow
def test_without_visualdl_one_line_says_how_to_install(tmp_path):
    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text(WITHOUT_VISUALDL)
    data = noise_images(tmp_path / "data", n=8)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "hide") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = run_script("tools/main.py", "-c", DEMO, "-o", *tiny(), f"dataset.train.dataroot={data}", "total_iters=1",
                     "enable_visualdl=true", f"output_dir={tmp_path / 'run'}", env=env, cwd=str(tmp_path))
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "enable_visualdl: true needs visualdl" in lines[0] and "pip install -e .[visualdl]" in lines[0], lines
    assert not glob.glob(str(tmp_path / "run" / "*" / "*.pdparams"))
