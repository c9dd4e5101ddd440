"""Datasets as users have them: NVlabs dataset zips with dataset.json labels, folders, rosinality LMDB.

The writers below produce each format from its description (NVlabs' ``dataset_tool.py`` layout: PNGs as
``00000/img00000000.png`` in an uncompressed zip, ``dataset.json`` = ``{"labels": [[name, label], ...]}``;
rosinality's ``prepare_data.py`` LMDB: ``b"<size>-<index:05d>"`` -> encoded image, ``b"length"``), not from their code.
"""
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import paddle
import pytest
from PIL import Image

from conftest import DEMO, ROOT, tiny
from ppgan_stylegan.core.errors import ConfigError
from ppgan_stylegan.data import StyleGANImageFolder
from ppgan_stylegan.data import sources

LABELS = [0, 2, 1, 2, 0, 1, 1, 2]


def make_images(n=8, size=8, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, (size, size, 3)).astype(np.uint8) for _ in range(n)]


def nvlabs_name(index):
    s = f"{index:08d}"
    return f"{s[:5]}/img{s}.png"


def png_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="png")
    return buffer.getvalue()


def write_nvlabs_zip(path, images, labels=None):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for i, rgb in enumerate(images):
            z.writestr(nvlabs_name(i), png_bytes(rgb))
        z.writestr("dataset.json", json.dumps(
            {"labels": None if labels is None else [[nvlabs_name(i), v] for i, v in enumerate(labels)]}))
    return str(path)


def write_folder(root, images, labels=None):
    for i, rgb in enumerate(images):
        os.makedirs(os.path.join(root, nvlabs_name(i).split("/")[0]), exist_ok=True)
        Image.fromarray(rgb).save(os.path.join(root, nvlabs_name(i)))
    if labels is not None:
        with open(os.path.join(root, "dataset.json"), "w") as f:
            json.dump({"labels": [[nvlabs_name(i), v] for i, v in enumerate(labels)]}, f)
    return str(root)


def write_rosinality_lmdb(root, images, labels=None, sizes=(8,)):
    import lmdb
    os.makedirs(root, exist_ok=True)
    with lmdb.open(str(root), map_size=64 * 2 ** 20) as env, env.begin(write=True) as txn:
        for i, rgb in enumerate(images):
            for size in sizes:
                img = Image.fromarray(rgb).resize((size, size)) if size != rgb.shape[0] else Image.fromarray(rgb)
                txn.put(f"{size}-{str(i).zfill(5)}".encode("utf-8"), png_bytes(np.asarray(img)))
        txn.put("length".encode("utf-8"), str(len(images)).encode("utf-8"))
    if labels is not None:  # (rosinality stores none: ours reads a dataset.json beside data.mdb, names = indices)
        with open(os.path.join(root, "dataset.json"), "w") as f:
            json.dump({"labels": [[f"{i:05d}", v] for i, v in enumerate(labels)]}, f)
    return str(root)


def items(dataset):
    return [dataset[i] for i in range(len(dataset))]


def test_zip_folder_and_lmdb_give_the_same_images_and_labels(tmp_path):
    images = make_images()
    roots = {"zip": write_nvlabs_zip(tmp_path / "data.zip", images, LABELS),
             "folder": write_folder(tmp_path / "folder", images, LABELS),
             "lmdb": write_rosinality_lmdb(tmp_path / "lmdb", images, LABELS, sizes=(8, 4))}
    for kind, root in roots.items():
        ds = StyleGANImageFolder(root, hflip=False, size=8)
        assert ds.source.kind == kind and len(ds) == 8
        got = items(ds)
        for rgb, item in zip(images, got):
            np.testing.assert_array_equal(item["A"], rgb.transpose(2, 0, 1), err_msg=kind)
        assert [int(item["label"]) for item in got] == LABELS, kind
    assert StyleGANImageFolder(roots["lmdb"], size=4).source.resolution == 4  # the resolution asked for


def test_labels_from_class_folders_and_vectors(tmp_path):
    images = make_images(6)
    for i, rgb in enumerate(images):
        folder = tmp_path / "classes" / ["cat", "dog"][i % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(folder / f"{i}.png")
    ds = StyleGANImageFolder(str(tmp_path / "classes"), hflip=False, labels="folders")
    assert ds.class_names == ["cat", "dog"] and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert "2 classes (images per class: 0: 3, 1: 3)" == sources.describe_labels(ds.labels)
    vectors = [[0.5, 1.0], [1.0, 0.0], [0.0, 0.25], [1.0, 1.0], [0.0, 0.0], [2.0, 3.0]]
    ds = StyleGANImageFolder(write_nvlabs_zip(tmp_path / "v.zip", images, vectors), hflip=False)
    assert ds.labels.dtype == np.float32 and ds.labels.shape == (6, 2)
    np.testing.assert_array_equal(ds[2]["label"], [0.0, 0.25])
    assert "label" not in StyleGANImageFolder(write_nvlabs_zip(tmp_path / "n.zip", images), hflip=False)[0]


@pytest.mark.parametrize("kind", ["zip", "lmdb"])
def test_loader_workers_each_open_their_own_handle(tmp_path, kind):
    images = make_images()
    root = write_nvlabs_zip(tmp_path / "data.zip", images, LABELS) if kind == "zip" else \
        write_rosinality_lmdb(tmp_path / "lmdb", images, LABELS)
    ds = StyleGANImageFolder(root, hflip=False)
    ds[0]  # a handle opened in this process first: a forked worker must not share it
    for _ in range(2):  # (a second epoch forks new workers)
        batches = list(paddle.io.DataLoader(ds, batch_size=4, shuffle=False, num_workers=2))
        got = np.concatenate([b["A"].numpy() for b in batches])
        np.testing.assert_array_equal(got, np.stack([rgb.transpose(2, 0, 1) for rgb in images]))
        assert np.concatenate([b["label"].numpy() for b in batches]).tolist() == LABELS
    assert ds.skipped == set()


@pytest.mark.parametrize("case, message", [
    ("zip without images", "no images"),
    ("dataset.json names a missing file", "dataset.json does not match the images: 1 labelled name(s) are not images"),
    ("an image without a label", "1 image(s) have no label, e.g. '00000/img00000007.png'"),
    ("labels of mixed types", "labels must all be class indices or all vectors of one length (found class, vector)"),
    ("loose image with labels: folders", "needs every image in a class sub-folder"),
    ("not a dataset", "is not a folder, an NVlabs dataset zip or an LMDB folder"),
    ("lmdb of another resolution", "holds resolutions [16], not 8"),
])
def test_bad_datasets_are_one_line(tmp_path, case, message):
    images = make_images()
    labels, mode = None, "auto"
    if case == "zip without images":
        root = str(tmp_path / "empty.zip")
        with zipfile.ZipFile(root, "w") as z:
            z.writestr("dataset.json", "{}")
    elif case == "dataset.json names a missing file":
        root = str(tmp_path / "d.zip")
        with zipfile.ZipFile(root, "w") as z:
            for i, rgb in enumerate(images):
                z.writestr(nvlabs_name(i), png_bytes(rgb))
            z.writestr("dataset.json", json.dumps({"labels": [[nvlabs_name(i), 0] for i in range(9)]}))
    elif case == "an image without a label":
        root = write_folder(tmp_path / "f", images)
        with open(os.path.join(root, "dataset.json"), "w") as f:
            json.dump({"labels": [[nvlabs_name(i), 0] for i in range(7)]}, f)
    elif case == "labels of mixed types":
        root = write_folder(tmp_path / "f", images, [0, [1.0]] * 4)
    elif case == "loose image with labels: folders":
        root, mode = write_folder(tmp_path / "f", images), "folders"
        Image.fromarray(images[0]).save(os.path.join(root, "loose.png"))
    elif case == "not a dataset":
        root = str(tmp_path / "notes.txt")
        open(root, "w").write("hello")
    else:
        root = write_rosinality_lmdb(tmp_path / "l", images, sizes=(16,))
    with pytest.raises(ConfigError) as error:
        StyleGANImageFolder(root, labels=mode, size=8)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow
def test_an_nvlabs_zip_trains_with_its_labels_read(tmp_path):
    """tools/main.py on an NVlabs dataset zip: trains, and the log reports the labels it read."""
    data = write_nvlabs_zip(tmp_path / "data.zip", make_images(16), LABELS * 2)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "main.py"), "-c", DEMO, "-o", *tiny(),
                          f"dataset.train.dataroot={data}", f"dataset.test.dataroot={data}", "total_iters=3",
                          f"output_dir={tmp_path / 'run'}"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    log = open(next(os.path.join(r, "log.txt") for r in (tmp_path / "run").iterdir()
                    if r.is_dir() and not r.is_symlink())).read()
    assert "(zip): 16 images, 8x8 RGB, 3 classes (images per class: 0: 4, 1: 6, 2: 6)" in log, log[-2000:]
    assert "Iter: 3/3" in log


def test_lmdb_without_the_extra_says_how_to_install(tmp_path, monkeypatch):
    root = write_rosinality_lmdb(tmp_path / "l", make_images(2))
    monkeypatch.setitem(sys.modules, "lmdb", None)  # as if not installed
    from ppgan_stylegan.core.errors import UserError
    with pytest.raises(UserError, match=r"LMDB datasets needs lmdb.*pip install -e \.\[lmdb\]"):
        StyleGANImageFolder(root)


def test_prepare_writes_an_nvlabs_zip_with_folder_or_csv_labels(tmp_path):
    """``prepare --dst x.zip``: uncompressed, dataset_tool's names and dataset.json; read back by our dataset with
    the labels given; a CSV missing an image is one line."""
    from ppgan_stylegan.data.prepare import prepare_folder
    src = tmp_path / "src"
    for i, rgb in enumerate(make_images(6, size=12)):
        (src / ["b_dogs", "a_cats"][i % 2]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(src / ["b_dogs", "a_cats"][i % 2] / f"{i}.png")
    assert prepare_folder(str(src), str(tmp_path / "out.zip"), 8, labels="folders") == 6
    with zipfile.ZipFile(tmp_path / "out.zip") as z:
        assert sorted(z.namelist())[:2] == ["00000/img00000000.png", "00000/img00000001.png"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in z.infolist())
        labels = json.loads(z.read("dataset.json"))["labels"]
    assert [v for _, v in labels] == [0, 0, 0, 1, 1, 1]  # sorted files: a_cats/1, 3, 5 then b_dogs/0, 2, 4
    ds = StyleGANImageFolder(str(tmp_path / "out.zip"), size=8, hflip=False)
    assert ds.labels.tolist() == [0, 0, 0, 1, 1, 1] and ds[0]["A"].shape == (3, 8, 8)
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("".join(f"{folder}/{i}.png,{i * 10}\n" for i, folder in
                                enumerate(["b_dogs", "a_cats"] * 3)))
    prepare_folder(str(src), str(tmp_path / "csv"), 8, labels=str(csv_file))  # a folder with dataset.json
    assert StyleGANImageFolder(str(tmp_path / "csv"), size=8).labels.tolist() == [10, 30, 50, 0, 20, 40]
    csv_file.write_text("a_cats/1.png,1\n")
    from ppgan_stylegan.core.errors import UserError
    with pytest.raises(UserError, match=r"5 image\(s\) have no row, e.g. 'a_cats/3.png'"):
        prepare_folder(str(src), str(tmp_path / "bad.zip"), 8, labels=str(csv_file))
    assert not (tmp_path / "bad.zip").exists()
