"""Where training images come from: a folder, an NVlabs dataset zip, or a rosinality LMDB; and their labels.

* **folder**: every image under it (recursive), named by its path relative to the folder.
* **zip** (stylegan2-ada-pytorch / stylegan3 ``dataset_tool.py``: PNGs as ``00000/img00000000.png`` ...): read
  in place, no extraction; each process (loader worker) opens its own handle on first use.
* **LMDB** (rosinality's ``prepare_data.py``: a folder with ``data.mdb``; keys ``b"<resolution>-<index:05d>"``
  hold encoded images, ``b"length"`` their count): the resolution the config asks for; names are the 5-digit
  indices. Needs the ``lmdb`` extra.

Labels (``labels``): ``auto`` (default) reads NVlabs' ``dataset.json`` (``{"labels": [[name, label], ...]}``, a
class index or a vector per image) at the top of the folder / zip / LMDB folder when there is one; ``folders``
makes the first sub-folder of each image's name its class (sorted folder names -> 0, 1, ...); ``none`` ignores
both. Integer labels are classes (int64), lists are float32 vectors, as NVlabs reads them.
"""
import io
import json
import os
import zipfile
from collections import Counter

import numpy as np
from PIL import Image

from ..core.archives import CEILING, read_member
from ..core.errors import ConfigError
from ..core.extras import require_extra
from ..core.images import IMAGE_EXTENSIONS, list_images

LABEL_MODES = ("auto", "folders", "none")


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _text_file(path):
    """The text of ``path``, or None when there is no such file."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


class FolderSource:
    kind = "folder"

    def __init__(self, root):
        self.root = root
        self.names = [os.path.relpath(p, root).replace(os.sep, "/") for p in list_images(root)]

    def open_image(self, name):
        return Image.open(self.where(name))

    def where(self, name):
        return os.path.join(self.root, *name.split("/"))

    def read_text(self, name):
        return _text_file(os.path.join(self.root, name))


class ZipSource:
    """A zip read in place; the handle is per process (a forked loader worker opens its own). Each member is
    read with a bound (``core.archives``): ``member_limit`` bytes for images (set by the dataset from the image
    size its config allows), the ceiling for text."""
    kind = "zip"

    def __init__(self, path, member_limit=CEILING):
        self.path, self._handle, self._pid, self.member_limit = path, None, None, member_limit
        try:
            with zipfile.ZipFile(path) as z:
                self.members = set(z.namelist())
        except (zipfile.BadZipFile, OSError) as e:
            raise ConfigError(f"dataset.dataroot: {path!r} is not a readable zip ({e})")
        self.names = sorted(n for n in self.members if is_image_name(n) and not n.endswith("/"))

    def _zip(self):
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._pid = zipfile.ZipFile(self.path), os.getpid()
        return self._handle

    def open_image(self, name):
        return Image.open(io.BytesIO(read_member(self._zip(), name, self.member_limit, self.where(name))))

    def where(self, name):
        return f"{self.path}:{name}"

    def read_text(self, name):
        if name not in self.members:
            return None
        return read_member(self._zip(), name, CEILING, self.where(name)).decode("utf-8")

    def __getstate__(self):  # (pickled into spawned workers: without the open handle)
        return dict(self.__dict__, _handle=None, _pid=None)


_LMDB_ENVS = {}  # (folder, process) -> the open environment: LMDB opens a folder once per process


class LmdbSource:
    """rosinality's LMDB: ``<resolution>-<index:05d>`` keys at the resolution asked for (or the only one)."""
    kind = "lmdb"

    def __init__(self, root, resolution=None):
        self.root = root
        with self._txn() as txn:
            length = txn.get(b"length")
            if length is None:
                raise ConfigError(f"dataset.dataroot: {root!r} is an LMDB without a b'length' key (rosinality's "
                                  "prepare_data.py layout expected)")
            count = int(length.decode("utf-8"))
            found = sorted({int(key.split(b"-")[0]) for key, _ in txn.cursor() if key[:1].isdigit() and b"-" in key})
        if resolution is None and len(found) == 1:
            resolution = found[0]
        if resolution not in found:
            raise ConfigError(f"dataset.dataroot: {root!r} holds resolutions {found}, not {resolution}")
        self.resolution = int(resolution)
        self.names = [f"{i:05d}" for i in range(count)]

    def _txn(self):
        key = (os.path.realpath(self.root), os.getpid())
        if key not in _LMDB_ENVS:
            lmdb = require_extra("lmdb", "LMDB datasets", "lmdb")
            for inherited in [k for k in _LMDB_ENVS if k[0] == key[0]]:  # a forked loader worker: LMDB refuses a
                _LMDB_ENVS.pop(inherited).close()  # second open of the files while the parent's copy is registered
            _LMDB_ENVS[key] = lmdb.open(self.root, readonly=True, lock=False, readahead=False, meminit=False)
        return _LMDB_ENVS[key].begin(write=False)

    def open_image(self, name):
        with self._txn() as txn:
            data = txn.get(f"{self.resolution}-{name}".encode("utf-8"))
        if data is None:
            raise KeyError(f"no key {self.resolution}-{name}")
        return Image.open(io.BytesIO(data))

    def where(self, name):
        return f"{self.root}:{self.resolution}-{name}"

    def read_text(self, name):
        return _text_file(os.path.join(self.root, name))


def open_source(dataroot, resolution=None, member_limit=CEILING):
    """The source behind ``dataroot``: an LMDB folder (``data.mdb``), a ``.zip`` file (images read with at most
    ``member_limit`` bytes each), or an image folder."""
    if os.path.isfile(dataroot) and zipfile.is_zipfile(dataroot):
        source = ZipSource(dataroot, member_limit)
    elif os.path.isdir(dataroot) and os.path.isfile(os.path.join(dataroot, "data.mdb")):
        source = LmdbSource(dataroot, resolution)
    elif os.path.isdir(dataroot):
        source = FolderSource(dataroot)
    else:
        raise ConfigError(f"dataset.dataroot: {dataroot!r} is not a folder, an NVlabs dataset zip or an LMDB folder")
    if not source.names:
        raise ConfigError(f"dataset.dataroot: no images ({', '.join(IMAGE_EXTENSIONS)}) in {dataroot!r}")
    return source


def _labels_from_json(source, dataroot):
    """NVlabs' ``dataset.json`` labels in ``source.names`` order, or None (no file, or ``"labels": null``)."""
    text = source.read_text("dataset.json")
    if text is None:
        return None
    try:
        entries = json.loads(text).get("labels")
    except (ValueError, AttributeError) as e:
        raise ConfigError(f"{dataroot}: dataset.json is not NVlabs' format ({{\"labels\": [[name, label], ...]}}): {e}")
    if entries is None:
        return None
    try:
        by_name = {str(name).replace("\\", "/"): label for name, label in entries}
    except (TypeError, ValueError):
        raise ConfigError(f"{dataroot}: dataset.json 'labels' must be [[name, label], ...]")
    missing = [n for n in source.names if n not in by_name]
    unknown = sorted(set(by_name) - set(source.names))
    if missing or unknown:
        culprit = f"{len(unknown)} labelled name(s) are not images here, e.g. {unknown[0]!r}" if unknown else \
            f"{len(missing)} image(s) have no label, e.g. {missing[0]!r}"
        raise ConfigError(f"{dataroot}: dataset.json does not match the images: {culprit}")
    return _as_label_array([by_name[n] for n in source.names], dataroot)


def _as_label_array(labels, dataroot):
    """Class indices (int64 ``[N]``) or vectors (float32 ``[N, D]``); mixed or ragged labels are an error."""
    kinds = {"class" if isinstance(v, int) and not isinstance(v, bool) else
             "vector" if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) else "other"
             for v in labels}
    if kinds == {"class"}:
        if min(labels) < 0:
            raise ConfigError(f"{dataroot}: dataset.json class labels must be >= 0, got {min(labels)}")
        return np.asarray(labels, dtype=np.int64)
    if kinds == {"vector"} and len({len(v) for v in labels}) == 1:
        return np.asarray(labels, dtype=np.float32)
    raise ConfigError(f"{dataroot}: dataset.json labels must all be class indices or all vectors of one length "
                      f"(found {', '.join(sorted(kinds))})")


def _labels_from_folders(source, dataroot):
    tops = [n.split("/")[0] if "/" in n else None for n in source.names]
    if None in tops:
        loose = source.names[tops.index(None)]
        raise ConfigError(f"dataset.labels: folders needs every image in a class sub-folder of {dataroot!r}; "
                          f"{loose!r} is not")
    classes = {name: i for i, name in enumerate(sorted(set(tops)))}
    return np.asarray([classes[t] for t in tops], dtype=np.int64), sorted(classes)


def read_labels(source, mode, dataroot):
    """``(labels or None, class names or None)`` for ``source`` by ``mode`` (``LABEL_MODES``)."""
    if mode not in LABEL_MODES:
        raise ConfigError(f"dataset.labels: expected one of {', '.join(LABEL_MODES)}, got {mode!r}")
    if mode == "folders":
        return _labels_from_folders(source, dataroot)
    labels = _labels_from_json(source, dataroot) if mode == "auto" else None
    return labels, None


def describe_labels(labels):
    """'10 classes (balance: 0: 12, 1: 9, ...)' / 'label vectors of 4' / 'no labels'."""
    if labels is None:
        return "no labels"
    if labels.ndim == 2:
        return f"label vectors of {labels.shape[1]}"
    counts = Counter(labels.tolist())
    shown = ", ".join(f"{k}: {counts[k]}" for k in sorted(counts)[:8]) + (", ..." if len(counts) > 8 else "")
    return f"{len(counts)} classes (images per class: {shown})"
