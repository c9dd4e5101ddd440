"""Turn a folder of images into PNGs at a power-of-two size, square or H x W (or write the embedded demo set).

    ppgan-stylegan prepare --src photos/ --dst data/faces256 --size 256
    ppgan-stylegan prepare --src classes/ --dst data/classes256.zip --size 256 --labels folders   # NVlabs zip
    ppgan-stylegan prepare --src cars/ --dst data/cars.zip --size 256 512 --fit pad    # 256 high, 512 wide
    ppgan-stylegan prepare --src sprites/ --dst data/sprites --size 64 --channels 4    # keep transparency
    ppgan-stylegan prepare --demo                        # 100 LFW faces, 32x32 RGB, no download -> data/demo

Images of any size and mode (RGB, grayscale, RGBA, palette, 16-bit) are fitted to the size's aspect (``--fit crop``:
the centred region, the default; ``pad``: the whole image between black bars) and resized with a Lanczos filter;
``--channels`` (default ``auto``: 1 when every image is grayscale, 4 when any has transparency, else 3) sets the
PNGs' channels. Unreadable files are reported and skipped. A ``--dst`` ending in ``.zip`` is a dataset
zip as stylegan2-ada-pytorch's ``dataset_tool.py`` writes it (with ``dataset.json``), which training reads in place.
"""
import os

from ..core.errors import UserError
from ..core.checks import arg_int
from ..data.prepare import CHANNEL_CHOICES, DEMO_SIZE, FITS, prepare_demo, prepare_folder

DEMO_FOLDER = os.path.join("data", "demo")
HELP = "images -> power-of-two PNGs (square or H x W; 1, 3 or 4 channels), or the demo set (tools/prepare_dataset.py)"


def add_arguments(p):
    p.add_argument("--src", help="folder of input images (searched recursively)")
    p.add_argument("--dst", default=None, help="output folder (default with --demo: data/demo)")
    p.add_argument("--size", type=arg_int(1), nargs="+", default=None, metavar="S",
                   help=f"output size: S (square) or H W, powers of two (default 256; demo {DEMO_SIZE})")
    p.add_argument("--fit", choices=FITS, default="crop",
                   help="crop: the centred region of the size's aspect; pad: the whole image between black bars")
    p.add_argument("--channels", choices=CHANNEL_CHOICES, default="auto",
                   help="1 grayscale, 3 RGB, 4 RGBA (default auto: what the images have)")
    p.add_argument("--labels", default=None,
                   help="class labels into dataset.json: 'folders' (each image's sub-folder of --src) or a CSV "
                        "file of name,label rows (names relative to --src)")
    p.add_argument("--demo", action="store_true", help="write the embedded demo dataset instead")


def _size(values, default):
    """``--size S`` -> S, ``--size H W`` -> (H, W)."""
    if not values:
        return default
    if len(values) > 2:
        raise UserError(f"--size: expected S or H W, got {' '.join(map(str, values))}")
    return values[0] if len(values) == 1 else tuple(values)


def run(args):
    if args.demo:
        channels = 3 if args.channels == "auto" else int(args.channels)
        prepare_demo(args.dst or DEMO_FOLDER, _size(args.size, DEMO_SIZE), channels)
    elif not args.src:
        raise UserError("--src is required (or use --demo)")
    elif not args.dst:
        raise UserError("--dst is required with --src")
    else:
        prepare_folder(args.src, args.dst, _size(args.size, 256), args.labels, args.channels, args.fit)
    return 0
