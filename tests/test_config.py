"""Config parsing (YAML, -o overrides) and validation before any work: one-line ConfigErrors naming the key."""
import pytest

from conftest import DEMO, ROOT
from ppgan_stylegan.core.config import apply_override, load_config, validate_config
from ppgan_stylegan.core.errors import ConfigError, UserError


def test_overrides_parse_numbers_lists_and_reject_unknown_paths():
    cfg = load_config(DEMO, ["lr_scheduler.learning_rate=1e-4", "lr_scheduler.milestones=[10, 20]",
                             "model.generator.n_mlp=3", "dataset.train.hflip=false", "output_dir=out dir"])
    assert cfg.lr_scheduler.learning_rate == 1e-4 and cfg.lr_scheduler.milestones == [10, 20]
    assert cfg.model.generator.n_mlp == 3 and cfg.dataset.train.hflip is False and cfg.output_dir == "out dir"
    with pytest.raises(ConfigError, match="'model.nope' is not in the config"):
        apply_override(dict(cfg), "model.nope.x=1")
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_override(dict(cfg), "model.r1_gamma")


def test_files_that_cannot_be_configs(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "none.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("model:\n  name: StyleGANModel\n  generator: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:4:1: not valid YAML"):
        load_config(str(broken))
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a YAML mapping at the top level"):
        load_config(str(listing))


@pytest.mark.parametrize("override, message", [
    ("model.r1_gama=5", "model.r1_gama: unknown key (did you mean 'r1_gamma'?)"),
    ("model.generator.chanel_max=16", "model.generator.chanel_max: unknown key (did you mean 'channel_max'?)"),
    ("model.generator.name=StyleGAN2Generatr", "'StyleGAN2Generatr' is not registered (did you mean"),
    ("dataset.train.hflp=true", "dataset.train.hflp: unknown key (did you mean 'hflip'?)"),
    ("model.generator.size=24", "model.generator.size: expected a power of two between 8 and 1024, got 24"),
    ("snapshot_config.interval=-5", "snapshot_config.interval: expected an integer >= 1, got -5"),
    ("validate.interval=0", "validate.interval: expected an integer >= 1 or -1, got 0"),
    ("dataset.train.batch_size=0", "dataset.train.batch_size: expected an integer >= 1, got 0"),
    ("log_config.intervall=3", "log_config.intervall: unknown key (did you mean 'interval'?)"),
])
def test_validation_names_the_key_and_the_nearest_known_one(override, message):
    with pytest.raises(ConfigError) as err:
        validate_config(load_config(DEMO, [override]))
    assert message in str(err.value)
    assert isinstance(err.value, UserError) and isinstance(err.value, ValueError)


def test_every_shipped_config_validates():
    import glob
    import os
    names = sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
    assert len(names) >= 5
    for name in names:
        validate_config(load_config(name))
