"""Run folders (core.runs): one per invocation, named runs never reused silently, the -latest links, run folders
as --weights / --resume."""
import os

import pytest

from ppgan_stylegan.core.errors import UserError
from ppgan_stylegan.core.runs import new_run_folder, point_latest, resolve_weights


def test_runs_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr("ppgan_stylegan.core.runs.stamp", lambda: "2026-12-01-00-00-00")
    folders = [new_run_folder(str(tmp_path / "out"), "generate") for _ in range(3)]
    assert [os.path.basename(f) for f in folders] == ["generate-2026-12-01-00-00-00", "generate-2026-12-01-00-00-00-2",
                                                      "generate-2026-12-01-00-00-00-3"]
    assert all(os.path.isdir(f) for f in folders)
    assert os.path.realpath(tmp_path / "out" / "generate-latest") == os.path.realpath(folders[-1])
    assert os.readlink(tmp_path / "out" / "generate-latest") == os.path.basename(folders[-1])  # relative: movable


def test_a_named_run_is_not_written_into_twice_unless_asked(tmp_path):
    folder = new_run_folder(str(tmp_path), "edit", name="smile")
    open(os.path.join(folder, "edit.png"), "w").close()
    with pytest.raises(UserError, match="exists and is not empty .*--overwrite"):
        new_run_folder(str(tmp_path), "edit", name="smile")
    assert new_run_folder(str(tmp_path), "edit", name="smile", overwrite=True) == folder
    assert os.path.isfile(os.path.join(folder, "edit.png"))  # --overwrite writes into it; nothing deleted
    (tmp_path / "notes").write_text("x")
    with pytest.raises(UserError, match="exists and is not a folder"):
        new_run_folder(str(tmp_path), "edit", name="notes")
    for bad in ("a/b", "..", "x-latest"):
        with pytest.raises(UserError, match="--name"):
            new_run_folder(str(tmp_path), "edit", name=bad)


def test_an_unwritable_root_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="--outdir .*cannot create"):
        new_run_folder(str(tmp_path / "file" / "out"), "generate")


def test_latest_never_replaces_a_real_folder_and_resolves_links(tmp_path):
    real = tmp_path / "generate-latest"
    real.mkdir()
    point_latest(str(tmp_path), "generate", str(tmp_path / "generate-1"))
    assert real.is_dir() and not real.is_symlink()
    run = tmp_path / "stylegan-1"
    run.mkdir()
    point_latest(str(tmp_path), "stylegan", str(run))
    point_latest(str(tmp_path), "stylegan", str(tmp_path / "stylegan-latest"))  # given through the link itself
    assert os.path.realpath(tmp_path / "stylegan-latest") == str(run)


def test_a_run_folder_as_weights_is_its_newest_file(tmp_path):
    for name in ("iter_500_weight.pdparams", "iter_2600_weight.pdparams", "iter_900_weight.pdparams",
                 "iter_2600_checkpoint.pdparams", "iter_1000_checkpoint.pdparams"):
        (tmp_path / name).write_text("x")
    assert resolve_weights(str(tmp_path)) == str(tmp_path / "iter_2600_weight.pdparams")
    assert resolve_weights(str(tmp_path), "--resume", kinds=("checkpoint",)) == \
        str(tmp_path / "iter_2600_checkpoint.pdparams")
    assert resolve_weights("file.pdparams") == "file.pdparams"  # files (and missing paths) are left to the loader
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="--resume .*empty: a folder without iter_N_checkpoint.pdparams"):
        resolve_weights(str(empty), "--resume", kinds=("checkpoint",))
