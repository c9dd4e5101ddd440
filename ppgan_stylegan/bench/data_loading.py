"""Images per second the training dataset delivers from a folder, an NVlabs zip and a rosinality LMDB.

    python -m ppgan_stylegan.bench.data_loading --size 256 --images 512 --workers 0,2 --out loading.json

The same images (smooth random colour fields with noise, PNG-encoded: photographs decode at about this cost) are
written in the three formats, then ``StyleGANImageFolder`` (flips on, as in training) is read through Paddle's
DataLoader with batch 16 for two passes; the second pass is timed (the first warms the page cache, as a long run
has it). ``images_per_s`` is what a GPU could be fed; stylegan2-ada-pytorch on one A100 trains at 256 px at
12.5 s/kimg, i.e. 80 images/s.
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile

import numpy as np
import paddle
from PIL import Image

from ..core.files import write_json
from ..core.extras import require_extra
from ..data import StyleGANImageFolder
from ..data.prepare import nvlabs_name

A100_256_IMAGES_PER_S = 1000 / 12.5


def synthetic_images(n, size, seed=0):
    """PNG bytes of ``n`` images: smooth colour fields plus noise (not flat: they compress like photos)."""
    rng = np.random.RandomState(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    out = []
    for _ in range(n):
        base = rng.uniform(0, 255, 3) * ramp[:, None, None] + rng.uniform(0, 255, 3) * ramp[None, :, None]
        rgb = np.clip(base / 2 + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def write_formats(root, pngs):
    """The same PNGs as a folder, an NVlabs zip and a rosinality LMDB under ``root``; their paths by kind."""
    folder, archive, lmdb_dir = (os.path.join(root, name) for name in ("folder", "data.zip", "lmdb"))
    os.makedirs(folder)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        for i, data in enumerate(pngs):
            with open(os.path.join(folder, f"{i:06d}.png"), "wb") as f:
                f.write(data)
            z.writestr(nvlabs_name(i), data)
        z.writestr("dataset.json", json.dumps({"labels": None}))
    lmdb = require_extra("lmdb", "the LMDB row of the loading benchmark", "lmdb")
    size = Image.open(io.BytesIO(pngs[0])).size[0]
    with lmdb.open(lmdb_dir, map_size=2 * sum(map(len, pngs)) + 2 ** 20) as env, env.begin(write=True) as txn:
        for i, data in enumerate(pngs):
            txn.put(f"{size}-{i:05d}".encode(), data)
        txn.put(b"length", str(len(pngs)).encode())
    return {"folder": folder, "zip": archive, "lmdb": lmdb_dir}


def images_per_second(dataroot, size, workers, batch=16):
    dataset = StyleGANImageFolder(dataroot, hflip=True, size=size)
    loader = paddle.io.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)
    for _ in loader:  # warm-up pass (page cache, worker start)
        pass
    start, seen = time.perf_counter(), 0
    for data in loader:
        seen += data["A"].shape[0]
    return seen / (time.perf_counter() - start)


def measure(size, images, workers):
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for kind, path in write_formats(root, synthetic_images(images, size)).items():
            for w in workers:
                rate = images_per_second(path, size, w)
                rows.append({"format": kind, "size": size, "workers": w, "images_per_s": round(rate, 1),
                             "a100_256_share": round(rate / A100_256_IMAGES_PER_S, 2)})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--workers", default="0,2")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    rows = measure(args.size, args.images, [int(w) for w in args.workers.split(",")])
    if args.out:
        write_json({"rows": rows, "cpu_cores": os.cpu_count(), "paddle": paddle.__version__}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
