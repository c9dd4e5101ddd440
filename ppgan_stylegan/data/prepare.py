"""Datasets on disk: a folder of any images -> square PNGs at a power-of-two size (a folder, or an NVlabs dataset
zip with ``dataset.json`` labels), and the embedded demo set.

Images of any size and mode (RGB, grayscale, RGBA, palette) are center-cropped to a square and resized
with a Lanczos filter; unreadable files are reported and skipped. A ``--dst`` ending in ``.zip`` is written in
the layout of stylegan2-ada-pytorch's ``dataset_tool.py`` (uncompressed; ``00000/img00000000.png``, ...;
``dataset.json`` with ``{"labels": [[name, label], ...]}`` or ``null``), which that code and ours read.
Labels: ``folders`` (each image's first sub-folder under ``--src`` is its class: sorted names -> 0, 1, ...), or a
CSV file of ``name,label`` rows (names relative to ``--src``; integer labels). The demo set is the first 100
(face) images of scikit-image's bundled LFW subset, 25x25 grayscale, written as 32x32 RGB: nothing is downloaded.
"""
import csv
import io
import json
import os
import sys
import zipfile

import numpy as np
from tqdm import tqdm

from ..core.checks import check_size
from ..core.errors import UserError
from ..core.files import atomic_write, write_json
from ..core.images import center_crop_resize, list_images, load_rgb, save_png

DEMO_SIZE = 32
DEMO_FACES = 100


def nvlabs_name(index):
    """The name ``dataset_tool.py`` gives image ``index`` in a dataset zip: ``00000/img00000000.png``."""
    text = f"{index:08d}"
    return f"{text[:5]}/img{text}.png"


def source_labels(src, paths, labels):
    """``{path: int label}`` for ``paths`` under ``src`` (``labels``: None, 'folders' or a CSV file), or None."""
    if labels in (None, "none"):
        return None
    relative = {p: os.path.relpath(p, src).replace(os.sep, "/") for p in paths}
    if labels == "folders":
        loose = [r for r in relative.values() if "/" not in r]
        if loose:
            raise UserError(f"--labels folders: every image needs a class sub-folder of --src; {loose[0]!r} has none")
        classes = {c: i for i, c in enumerate(sorted({r.split("/")[0] for r in relative.values()}))}
        return {p: classes[r.split("/")[0]] for p, r in relative.items()}
    return _csv_labels(labels, relative)


def _csv_labels(path, relative):
    if not os.path.isfile(path):
        raise UserError(f"--labels {path!r}: expected 'folders', 'none' or a CSV file of name,label rows")
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row and not row[0].startswith("#")]
    try:
        by_name = {name.strip().replace("\\", "/"): int(label) for name, label in rows}
    except ValueError as e:
        raise UserError(f"--labels {path}: rows must be name,integer label ({e})")
    missing = [r for r in relative.values() if r not in by_name]
    if missing:
        raise UserError(f"--labels {path}: {len(missing)} image(s) have no row, e.g. {missing[0]!r}")
    return {p: by_name[r] for p, r in relative.items()}


def _readable(paths, size):
    """(path, square image) of every readable path; unreadable ones reported on stderr."""
    skipped = []
    for path in tqdm(paths, desc=f"resizing to {size}x{size}", unit="img"):
        try:
            rgb = load_rgb(path)
        except Exception as e:  # unreadable / corrupt file: report and go on
            skipped.append((path, str(e).splitlines()[0] if str(e) else type(e).__name__))
            continue
        yield path, center_crop_resize(rgb, size)
    for path, why in skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)


def prepare_folder(src, dst, size, labels=None):
    """Every readable image under ``src`` -> ``size`` x ``size`` RGB PNGs: ``dst/NNNNNN.png`` (+ ``dataset.json``
    with labels), or an NVlabs dataset zip when ``dst`` ends in ``.zip``. Returns the count."""
    check_size(size, low=4, high=1 << 16, where="--size")
    if not os.path.isdir(src):
        raise UserError(f"--src {src!r} is not a folder")
    paths = list_images(src)
    if not paths:
        raise UserError(f"--src {src!r}: no images found")
    by_path = source_labels(src, paths, labels)
    write = _write_zip if dst.lower().endswith(".zip") else _write_folder
    written = write(_readable(paths, size), dst, by_path)
    print(f"wrote {written} images of {size}x{size} to {dst} ({len(paths) - written} skipped)"
          + (f", labels: {len(set(by_path.values()))} classes" if by_path else ""))
    return written


def _write_folder(images, dst, by_path):
    entries = []
    for i, (path, img) in enumerate(images):
        name = f"{i:06d}.png"
        save_png(img, os.path.join(dst, name))
        entries.append([name, by_path[path]] if by_path else None)
    if by_path:
        write_json({"labels": entries}, os.path.join(dst, "dataset.json"))
    return len(entries)


def _write_zip(images, dst, by_path):
    """The zip is written to a temporary file and renamed when complete (an interrupted run leaves no zip)."""
    count = [0]

    def write(tmp):
        entries = []
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for i, (path, img) in enumerate(images):
                buffer = io.BytesIO()
                img.save(buffer, format="PNG")
                z.writestr(nvlabs_name(i), buffer.getvalue())
                entries.append([nvlabs_name(i), by_path[path]] if by_path else None)
            z.writestr("dataset.json", json.dumps({"labels": entries if by_path else None}))
        count[0] = len(entries)
    atomic_write(dst, write)
    return count[0]


def demo_faces():
    """The face images of scikit-image's bundled LFW subset (first 100 of 200), uint8 [100, 25, 25]."""
    from skimage.data import lfw_subset  # scikit-image is only needed for the demo set
    faces = lfw_subset()[:DEMO_FACES]
    return (np.clip(faces, 0, 1) * 255).round().astype(np.uint8)


def prepare_demo(dst, size=DEMO_SIZE):
    """Write the demo faces to ``dst/face_NNN.png`` (``size`` x ``size`` RGB). Returns the count."""
    check_size(size, low=4, high=1 << 16, where="--size")
    faces = demo_faces()
    for i, face in enumerate(tqdm(faces, desc="demo faces", unit="img")):
        rgb = np.repeat(face[:, :, None], 3, axis=2)
        save_png(center_crop_resize(rgb, size), os.path.join(dst, f"face_{i:03d}.png"))
    print(f"wrote {len(faces)} demo faces ({size}x{size} RGB) to {dst}")
    return len(faces)
