"""Datasets on disk: a folder of any images -> PNGs at a power-of-two size, square or ``H x W`` (a folder, or an
NVlabs dataset zip with ``dataset.json`` labels), and the embedded demo set.

Images of any size and mode (RGB, grayscale, RGBA, palette, 16-bit) are fitted to the size's aspect (``crop``: the
centred region; ``pad``: the whole image between black bars, as NVlabs) and resized with a Lanczos filter; unreadable
files are reported and skipped. Channels: ``auto`` keeps the images' own (1 when every image is grayscale, 4 when any
has transparency, else 3), or 1 / 3 / 4 converts them. A ``--dst`` ending in ``.zip`` is written in
the layout of stylegan2-ada-pytorch's ``dataset_tool.py`` (uncompressed; ``00000/img00000000.png``, ...;
``dataset.json`` with ``{"labels": [[name, label], ...]}`` or ``null``), which that code and ours read.
Labels: ``folders`` (each image's first sub-folder under ``--src`` is its class: sorted names -> 0, 1, ...), or a
CSV file of ``name,label`` rows (names relative to ``--src``; integer labels). The demo set is the first 100
(face) images of scikit-image's bundled LFW subset, 25x25 grayscale, written as 32x32 RGB (or another size / channels
for the demo's variants; non-square by padding): nothing is downloaded.
"""
import csv
import io
import json
import os
import sys
import zipfile

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..core.checks import IMAGE_CHANNELS, check_choice, check_image_shape
from ..core.errors import UserError
from ..core.files import atomic_write, write_json
from ..core.images import array_of, channels_of, common_channels, fit_image, list_images, pil_image, save_png

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


def _csv_rows(path):
    """``[(line number, [fields])]`` of a label CSV as spreadsheets write it (UTF-8 with or without a byte-order
    mark, CRLF or LF, quoted fields); blank lines and ``#`` comments left out; undecodable files one line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, [c.strip() for c in row]) for row in reader
                    if any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    except UnicodeDecodeError as e:
        raise UserError(f"--labels {path}: not a UTF-8 text file (byte {e.start}: {e.reason}); expected CSV rows "
                        "name,label")
    except csv.Error as e:
        raise UserError(f"--labels {path}: not a CSV file ({e})")


def _csv_labels(path, relative):
    """``{path: label}`` from a CSV of ``name,label`` rows (an optional header row ``name,label``): labels are
    non-negative integers; a row naming no image, a name given two labels, or an image without a row is an error
    naming the line."""
    if not os.path.isfile(path):
        raise UserError(f"--labels {path!r}: expected 'folders', 'none' or a CSV file of name,label rows")
    rows = _csv_rows(path)
    if rows and len(rows[0][1]) == 2 and not rows[0][1][1].lstrip("-").isdigit():
        rows = rows[1:]  # a header row
    images = set(relative.values())
    by_name, line_of = {}, {}
    for line, row in rows:
        if len(row) != 2 or not row[1].isdigit():
            raise UserError(f"--labels {path}: line {line} is {','.join(row)!r}; expected name,label with a "
                            "non-negative integer label")
        name, label = row[0].replace("\\", "/"), int(row[1])
        if name not in images:
            raise UserError(f"--labels {path}: line {line} names {name!r}, which is not an image of --src")
        if name in by_name and by_name[name] != label:
            raise UserError(f"--labels {path}: line {line} gives {name!r} label {label}, line {line_of[name]} "
                            f"gave {by_name[name]}")
        by_name[name], line_of[name] = label, line_of.get(name, line)
    missing = [r for r in relative.values() if r not in by_name]
    if missing:
        raise UserError(f"--labels {path}: {len(missing)} image(s) have no row, e.g. {missing[0]!r}")
    return {p: by_name[r] for p, r in relative.items()}


FITS = ("crop", "pad")
CHANNEL_CHOICES = ("auto", "1", "3", "4")


def _channels(paths, channels):
    """``channels`` as an int: ``auto`` reads every image's header (``core.images.common_channels``)."""
    if channels != "auto":
        return int(channels)
    found = set()
    for path in paths:
        try:
            with Image.open(path) as img:
                found.add(channels_of(img))
        except Exception:  # unreadable: reported when it is read
            continue
    return common_channels(found or {3})


def _readable(paths, shape, channels, fit):
    """(path, uint8 ``[H, W, channels]`` image) of every readable path; unreadable ones reported on stderr."""
    skipped = []
    for path in tqdm(paths, desc=f"resizing to {shape[1]}x{shape[0]}", unit="img"):
        try:
            with Image.open(path) as img:
                arr = array_of(img, channels)
        except Exception as e:  # unreadable / corrupt file: report and go on
            skipped.append((path, str(e).splitlines()[0] if str(e) else type(e).__name__))
            continue
        yield path, fit_image(arr, shape, fit)
    for path, why in skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)


def prepare_folder(src, dst, size, labels=None, channels="auto", fit="crop"):
    """Every readable image under ``src`` -> PNGs of ``size`` (an int: square, or ``(H, W)``): ``dst/NNNNNN.png``
    (+ ``dataset.json`` with labels), or an NVlabs dataset zip when ``dst`` ends in ``.zip``. Returns the count."""
    shape = check_image_shape(list(size) if isinstance(size, tuple) else size, "--size", low=4, high=1 << 16)
    check_choice("--fit", fit, FITS)
    check_choice("--channels", str(channels), CHANNEL_CHOICES)
    if not os.path.isdir(src):
        raise UserError(f"--src {src!r} is not a folder")
    paths = list_images(src)
    if not paths:
        raise UserError(f"--src {src!r}: no images found")
    by_path = source_labels(src, paths, labels)
    channels = _channels(paths, str(channels))
    write = _write_zip if dst.lower().endswith(".zip") else _write_folder
    written = write(_readable(paths, shape, channels, fit), dst, by_path)
    print(f"wrote {written} {IMAGE_CHANNELS[channels]} images of {shape[1]}x{shape[0]} to {dst} "
          f"({len(paths) - written} skipped)" + (f", labels: {len(set(by_path.values()))} classes" if by_path else ""))
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
                pil_image(img).save(buffer, format="PNG")
                z.writestr(nvlabs_name(i), buffer.getvalue())
                entries.append([nvlabs_name(i), by_path[path]] if by_path else None)
            z.writestr("dataset.json", json.dumps({"labels": entries if by_path else None}))
        count[0] = len(entries)
    atomic_write(dst, write)
    return count[0]


DEMO_CLASSES = ("0_faces", "1_other")  # the conditional demo's class folders (labels: folders -> 0, 1)


def demo_images(classes=False):
    """scikit-image's bundled LFW subset as uint8 ``[N, 25, 25]``: its first 100 images (faces), or with
    ``classes`` all 200 (faces, then 100 background patches)."""
    from skimage.data import lfw_subset  # scikit-image is only needed for the demo set
    images = lfw_subset()[:None if classes else DEMO_FACES]
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


def prepare_demo(dst, size=DEMO_SIZE, channels=3, classes=False):
    """Write the demo faces to ``dst/face_NNN.png`` (with ``classes``: all 200 images, ``dst/0_faces/`` and
    ``dst/1_other/``, for ``labels: folders``): ``size`` (an int, or ``(H, W)``: each image padded to that aspect)
    with ``channels`` (the grayscale images replicated to RGB, or opaque RGBA). Returns the count."""
    shape = check_image_shape(list(size) if isinstance(size, tuple) else size, "--size", low=4, high=1 << 16)
    images = demo_images(classes)
    for i, image in enumerate(tqdm(images, desc="demo images", unit="img")):
        arr = array_of(Image.fromarray(image), channels)
        folder = os.path.join(dst, DEMO_CLASSES[i // DEMO_FACES]) if classes else dst
        stem = "face" if i < DEMO_FACES else "other"
        save_png(fit_image(arr, shape, "pad"), os.path.join(folder, f"{stem}_{i % DEMO_FACES:03d}.png"))
    what = "images in 2 classes (faces, other)" if classes else "faces"
    print(f"wrote {len(images)} demo {what} ({shape[1]}x{shape[0]} {IMAGE_CHANNELS[channels]}) to {dst}")
    return len(images)
