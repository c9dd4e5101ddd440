"""Blend two generators by layer swapping (toonify): the base's layers below --swap-res, the tuned one's above.

    ppgan-stylegan blend --base ffhq.pdparams --tuned toons.pdparams --swap-res 16 --dst toonify.pdparams

--tuned is the base fine-tuned on another domain (configs/stylegan_v2_finetune.yaml). The mapping network comes from
the base, so an encoder of the base (encode --task toonify with a pSp file of the base) encodes photos for it.
"""
import os

from ..apps.blend import blend_files
from ..core.checks import arg_int, check_int
from ..core.errors import UserError
from ..core.runs import output_file, resolve_weights

HELP = "network blending by layer swapping: base below --swap-res, tuned above (toonify)"


def add_arguments(p):
    p.add_argument("--base", required=True, help="generator weight file or run folder (its layers below --swap-res)")
    p.add_argument("--tuned", required=True, help="the base fine-tuned on another domain (layers from --swap-res up)")
    p.add_argument("--swap-res", type=arg_int(4), default=16, help="first resolution taken from --tuned (4, 8, ..., size)")
    p.add_argument("--dst", required=True, help="output .pdparams")
    p.add_argument("--overwrite", action="store_true", help="replace --dst when it exists")


def run(args):
    check_int("--swap-res", args.swap_res, 4)
    output_file(args.dst)
    if os.path.exists(args.dst) and not args.overwrite:
        raise UserError(f"--dst {args.dst}: exists (choose another path, or --overwrite)")
    print(blend_files(resolve_weights(args.base), resolve_weights(args.tuned), args.swap_res, args.dst))
    return 0
