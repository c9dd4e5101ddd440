"""Encode images with a trained pSp encoder: W+ latents (.npy), reconstructions (PNG), a grid, MSE summary.

    ppgan-stylegan encode --weights output/psp_demo_faces_quick-latest --images data/demo --no-align
    ppgan-stylegan encode --weights psp_ffhq.pdparams --images photos/ \
        --landmarks-model shape_predictor_68_face_landmarks.dat
    ppgan-stylegan encode --weights psp_celebs_sketch_to_face.pt --images sketches/ --task sketch2face \
        --latent-mask 8-17 --n-outputs 5

The latents feed the other tools (edit --latent, mix --blend, generate --latents). Without --no-align, each
image is aligned FFHQ-style from 68 landmarks (a JSON file, or dlib's shape predictor).
"""
import os

from ..apps.align import LandmarkSource
from ..apps.encode import ImageEncoder, Quality
from ..core.checks import arg_float, arg_int, arg_seed, check_int, check_number
from ..core.errors import UserError
from ..core.ranges import parse_ranges
from ..data.tasks import TASKS
from .common import add_generator_args, predictor_args

HELP = "pSp encoder inference: images -> W+ latents (applications/encode.py)"


def add_arguments(p):
    add_generator_args(p, weights_help="PSPModel checkpoint / weight file or run folder (encoder + generator), or a "
                                       "PaddleGAN Pixel2Style2Pixel .pdparams")
    p.add_argument("--images", required=True, help="an image file or a folder of images")
    p.add_argument("--no-align", action="store_true", help="images are already aligned crops: center crop + resize")
    p.add_argument("--landmarks", help="JSON {image file name: [[x, y] x 68]} for alignment")
    p.add_argument("--landmarks-model", help="dlib's shape_predictor_68_face_landmarks.dat (needs dlib)")
    p.add_argument("--task", choices=list(TASKS), help="what the images are: photos (encode, frontalize, toonify), "
                                                       "superres (low-resolution photos, or full-size ones to "
                                                       "downsample), sketch2face (line drawings), seg2face "
                                                       "(class-index label maps); default: the file's own task")
    p.add_argument("--label-nc", type=arg_int(1), help="classes of the label maps (seg2face; default: the file's)")
    p.add_argument("--resize-factor", help="superres: the downsampling factor(s) for full-size photos, e.g. 8 "
                                           "(default: the file's, else 1,2,4,8,16,32)")
    p.add_argument("--latent-mask", help="multi-modal outputs: W+ entries that take random styles, e.g. 8-17 "
                                         "(writes <name>_multimodal.png per input)")
    p.add_argument("--n-outputs", type=arg_int(1), default=5, help="multi-modal outputs per input")
    p.add_argument("--mix-alpha", type=arg_float(0, 1), help="multi-modal: a * injected + (1 - a) * code at the masked "
                                                   "entries (default: replaced)")
    p.add_argument("--targets", help="a folder of the photos the inputs (sketches, label maps) show, named as them: "
                                     "the summary then scores the outputs against them")
    p.add_argument("--from-photos", action="store_true", help="sketch2face: the images are photos; their sketches "
                   "are drawn as in training (XDoG) and the outputs scored against the photos")
    p.add_argument("--lpips-weights", help="LPIPS weights folder (PaddleGAN's vgg16 + lins files): LPIPS in the summary")
    p.add_argument("--id-weights", help="ArcFace IR-SE-50 .pdparams: identity similarity in the summary")
    p.add_argument("--seed", type=arg_seed, default=0, help="seed of the injected styles and of random input choices")


def run(args):
    factors = parse_ranges(args.resize_factor, "--resize-factor") if args.resize_factor else None
    app = ImageEncoder(**predictor_args(args), task=args.task, label_nc=args.label_nc, resize_factors=factors)
    align = (app.inputs.task.inputs == "photo" or args.from_photos) and not args.no_align  # (not sketch files)
    landmarks = LandmarkSource(args.landmarks, args.landmarks_model) if align else None
    mask = parse_ranges(args.latent_mask, "--latent-mask") if args.latent_mask else None
    check_int("--n-outputs", args.n_outputs)
    if args.mix_alpha is not None:
        check_number("--mix-alpha", args.mix_alpha, 0.0, 1.0)
    if args.from_photos and args.targets:
        raise UserError("--from-photos takes no --targets: the photos themselves are the targets")
    if args.targets and not os.path.isdir(args.targets):
        raise UserError(f"--targets {args.targets}: not a folder")
    quality = Quality(args.lpips_weights, args.id_weights)
    report, _ = app.encode_folder(args.images, align=align, landmarks=landmarks, latent_mask=mask,
                                  n_outputs=args.n_outputs, mix_alpha=args.mix_alpha, seed=args.seed,
                                  targets=args.targets, quality=quality, from_photos=args.from_photos)
    print(f"encoded {report['count']} image(s) (task {report['task']})")
    for measure in ("mse", "lpips", "id_similarity"):
        if f"mean_{measure}" in report:
            print(f"mean {measure}: {report[f'mean_{measure}']:.4f} (baseline, {report['baseline']}: "
                  f"{report[f'mean_{measure}_baseline']:.4f})")
    print(f"output: {app.output_dir}")
    return 0
