"""Encode images with a trained pSp encoder: W+ latents (.npy), reconstructions (PNG), a grid, MSE summary.

    ppgan-stylegan encode --weights output/psp_demo_faces_quick-latest --images data/demo --no-align
    ppgan-stylegan encode --weights psp_ffhq.pdparams --images photos/ \
        --landmarks-model shape_predictor_68_face_landmarks.dat

The latents feed the other tools (edit --latent, mix --blend, generate --latents). Without --no-align, each
image is aligned FFHQ-style from 68 landmarks (a JSON file, or dlib's shape predictor).
"""
from ..apps.align import LandmarkSource
from ..apps.encode import ImageEncoder
from .common import add_generator_args, predictor_args

HELP = "pSp encoder inference: images -> W+ latents (applications/encode.py)"


def add_arguments(p):
    add_generator_args(p, weights_help="PSPModel checkpoint / weight file or run folder (encoder + generator), or a "
                                       "PaddleGAN Pixel2Style2Pixel .pdparams")
    p.add_argument("--images", required=True, help="an image file or a folder of images")
    p.add_argument("--no-align", action="store_true", help="images are already aligned crops: center crop + resize")
    p.add_argument("--landmarks", help="JSON {image file name: [[x, y] x 68]} for alignment")
    p.add_argument("--landmarks-model", help="dlib's shape_predictor_68_face_landmarks.dat (needs dlib)")


def run(args):
    landmarks = None if args.no_align else LandmarkSource(args.landmarks, args.landmarks_model)
    app = ImageEncoder(**predictor_args(args))
    summary, _ = app.encode_folder(args.images, align=not args.no_align, landmarks=landmarks)
    mean = sum(summary.values()) / len(summary)
    print(f"encoded {len(summary)} image(s); mean reconstruction MSE {mean:.4f}")
    print(f"output: {app.output_dir}")
    return 0
