"""Turn a folder of images into square PNGs at a power-of-two size (or write the embedded demo set).

    ppgan-stylegan prepare --src photos/ --dst data/faces256 --size 256
    ppgan-stylegan prepare --src classes/ --dst data/classes256.zip --size 256 --labels folders   # NVlabs zip
    ppgan-stylegan prepare --demo                        # 100 LFW faces, 32x32 RGB, no download -> data/demo

Images of any size and mode (RGB, grayscale, RGBA, palette) are center-cropped to a square and resized
with a Lanczos filter; unreadable files are reported and skipped. A ``--dst`` ending in ``.zip`` is a dataset
zip as stylegan2-ada-pytorch's ``dataset_tool.py`` writes it (with ``dataset.json``), which training reads in place.
"""
import os

from ..core.errors import UserError
from ..data.prepare import DEMO_SIZE, prepare_demo, prepare_folder

DEMO_FOLDER = os.path.join("data", "demo")
HELP = "images -> square power-of-two PNGs, or the demo set (tools/prepare_dataset.py)"


def add_arguments(p):
    p.add_argument("--src", help="folder of input images (searched recursively)")
    p.add_argument("--dst", default=None, help="output folder (default with --demo: data/demo)")
    p.add_argument("--size", type=int, default=None,
                   help=f"output size, a power of two (default 256; demo {DEMO_SIZE})")
    p.add_argument("--labels", default=None,
                   help="class labels into dataset.json: 'folders' (each image's sub-folder of --src) or a CSV "
                        "file of name,label rows (names relative to --src)")
    p.add_argument("--demo", action="store_true", help="write the embedded demo dataset instead")


def run(args):
    if args.demo:
        prepare_demo(args.dst or DEMO_FOLDER, args.size or DEMO_SIZE)
    elif not args.src:
        raise UserError("--src is required (or use --demo)")
    elif not args.dst:
        raise UserError("--dst is required with --src")
    else:
        prepare_folder(args.src, args.dst, args.size or 256, args.labels)
    return 0
