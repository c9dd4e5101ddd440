"""A web app to explore and edit a generator in the browser (Gradio; pip install -e .[app]).

    ppgan-stylegan app --weights output/demo-latest                     # http://127.0.0.1:7860
    ppgan-stylegan app --weights w.pdparams --psp output/psp-latest --port 8080
Tabs: Generate (seeds, truncation, noise, grid or one image; PNG and W+ latents to download), Style mixing,
Edit (SeFa sliders, a direction file, an S-space channel; one image or a strip), Project (an uploaded image,
live progress, Stop; the .npz goes straight to Edit), Encode (with --psp) and the model card. The page computes
with the same predictors as generate / mix / edit / project / encode. It listens on 127.0.0.1 unless --host says
otherwise, makes no public link unless --share, and serves only its own outputs.
"""
from ..apps.webapp import Studio
from ..apps.webpage import serve
from ..core.errors import UserError
from ..core.runs import resolve_weights
from ..core.checks import arg_float, arg_int
from .common import add_generator_args, run_folder

HELP = "a web app (Gradio) to generate, mix, edit, project and encode in the browser (applications/app.py)"


def add_arguments(p):
    add_generator_args(p)
    p.add_argument("--psp", help="a pSp checkpoint / weight file or run folder: adds the Encode tab")
    align = p.add_mutually_exclusive_group()
    align.add_argument("--landmarks", metavar="FILE.json",
                       help="{image name: 68 [x, y] points}: Project aligns uploads of those names first")
    align.add_argument("--landmarks-model", metavar="FILE",
                       help="dlib's shape_predictor_68_face_landmarks.dat: Project aligns uploaded faces first")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every network interface)")
    p.add_argument("--port", type=arg_int(1, 65535), default=7860, help="port to listen on")
    p.add_argument("--share", action="store_true", help="also make a public gradio.live link (off by default)")
    p.add_argument("--max-upload-mb", type=arg_float(above=0), default=10, help="largest upload accepted, in MB")


def run(args):
    if args.max_upload_mb <= 0 or not 0 < args.port < 65536:
        raise UserError(f"--max-upload-mb must be > 0 and --port in 1-65535, got {args.max_upload_mb} and {args.port}")
    studio = Studio(resolve_weights(args.weights), args.config, args.device, lambda: run_folder(args),
                    psp=resolve_weights(args.psp) if args.psp else None, landmarks=args.landmarks,
                    landmarks_model=args.landmarks_model)
    serve(studio, args.host, args.port, args.share, args.max_upload_mb)
    return 0
