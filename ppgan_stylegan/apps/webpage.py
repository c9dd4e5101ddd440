"""The web app's page (Gradio Blocks) over a ``webapp.Studio``: one tab per action, and ``serve``.

Every model action runs one at a time (one shared concurrency slot: the generator is one Paddle model); user
errors (a bad upload, a seed list that does not parse) show as one message in the page. Widgets carry
``elem_id``s (``gen-seeds``, ``proj-run``, ...) that the browser test drives.
"""
import functools
import inspect
import sys
import os
import re

from ..core.errors import UserError
from .webapp import (IMAGE_FILES, LATENT_FILES, LIVE_FRAMES, NOISE_MODES, SEFA_SLIDERS, gradio, style_choices)

MODEL = dict(concurrency_id="generator", concurrency_limit=1)  # one action at a time on the one generator
UPLOAD_HEIGHT = 140  # pixels of an upload box
IMAGE_HEIGHT = 320  # pixels on the page: small generators' images are shown enlarged, pixels kept sharp
CSS = ".enlarged img {width: 100% !important; height: 100% !important; object-fit: contain; " \
      "image-rendering: pixelated;}"


UPLOADED = re.compile(r"\S*/gradio/[0-9a-f]{16,}/")  # Gradio's upload cache folder in front of a file's name


def message(error):
    """A user error as the page shows it: uploads named by their file names, not by the server's copies."""
    return UPLOADED.sub("", str(error))


def shown(gr, fn):
    """``fn`` (a function or a generator function) whose ``UserError``s become one message in the page and one
    line on the server's console (no traceback: Gradio prints one for other errors, the real bugs)."""
    def page_error(e):
        print(f"user error: {message(e)}", file=sys.stderr, flush=True)
        return gr.Error(message(e), print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def steps(*args):
            try:
                yield from fn(*args)
            except UserError as e:
                raise page_error(e) from None
        return steps

    @functools.wraps(fn)
    def run(*args):
        try:
            return fn(*args)
        except UserError as e:
            raise page_error(e) from None
    return run


def output_image(gr, label, elem_id, kind="filepath"):
    """An image the page shows (a PNG path, or a uint8 array with ``kind='numpy'``), enlarged with sharp pixels."""
    return gr.Image(type=kind, label=label, interactive=False, height=IMAGE_HEIGHT, elem_classes=["enlarged"],
                    elem_id=elem_id)


def sampling(gr, prefix):
    """Truncation psi and noise mode widgets."""
    psi = gr.Slider(0, 1.5, value=1.0, step=0.05, label="truncation psi", elem_id=f"{prefix}-psi")
    noise = gr.Radio(NOISE_MODES, value="const", label="noise", elem_id=f"{prefix}-noise")
    return psi, noise


def generate_tab(gr, studio, label):
    with gr.Tab("Generate", id="generate"):
        with gr.Row():
            seeds = gr.Textbox("0-7", label="seeds (e.g. 0-7,42)", elem_id="gen-seeds")
            single = gr.Checkbox(False, label="one image (the first seed)", elem_id="gen-single")
        with gr.Row():
            psi, noise = sampling(gr, "gen")
            cutoff = gr.Number(0, precision=0, label="truncation cutoff (0: all layers)", elem_id="gen-cutoff")
        run = gr.Button("Generate", variant="primary", elem_id="gen-run")
        image = output_image(gr, "images", "gen-image")
        files = gr.File(label="PNG and W+ latents", file_count="multiple", interactive=False, elem_id="gen-files")
        run.click(shown(gr, lambda *a: studio.generate(*a)), [seeds, psi, cutoff, noise, label, single],
                  [image, files], **MODEL)


def mixing_tab(gr, studio, label):
    with gr.Tab("Style mixing", id="mix"):
        with gr.Row():
            rows = gr.Textbox("0-2", label="row seeds", elem_id="mix-rows")
            cols = gr.Textbox("5-7", label="column seeds (their styles)", elem_id="mix-cols")
        with gr.Row():
            preset = gr.Radio(style_choices(), value="coarse", label="layers", elem_id="mix-preset")
            custom = gr.Textbox("0-1", label="custom layers (with 'custom')", elem_id="mix-custom")
            psi, noise = sampling(gr, "mix")
        run = gr.Button("Mix", variant="primary", elem_id="mix-run")
        image = output_image(gr, "style mixing", "mix-image")

        def mix(rows, cols, preset, custom, psi, noise, label):
            return studio.mix(rows, cols, custom if preset == "custom" else preset, psi, noise, label)
        run.click(shown(gr, mix), [rows, cols, preset, custom, psi, noise, label], [image], **MODEL)


def edit_tab(gr, studio, label):
    """The Edit tab; returns its latent upload (the Project tab sends its result there)."""
    with gr.Tab("Edit", id="edit"), gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                seed = gr.Number(0, precision=0, label="start seed", elem_id="edit-seed")
                latent = gr.File(label="or a latent (.npy / .npz)", file_types=LATENT_FILES, height=UPLOAD_HEIGHT,
                                 elem_id="edit-latent")
            sefa = [gr.Slider(-10, 10, value=0, step=0.5, label=f"SeFa {k}", elem_id=f"edit-sefa-{k}")
                    for k in range(SEFA_SLIDERS)]
            with gr.Row():
                direction = gr.File(label="direction (.npy)", file_types=[".npy"], height=UPLOAD_HEIGHT,
                                    elem_id="edit-direction")
                weight = gr.Slider(-10, 10, value=0, step=0.5, label="its weight", elem_id="edit-weight")
            with gr.Row():
                layer = gr.Number(0, precision=0, label="S layer", elem_id="edit-s-layer")
                channel = gr.Number(0, precision=0, label="S channel", elem_id="edit-s-channel")
                amount = gr.Slider(-20, 20, value=0, step=0.5, label="S shift", elem_id="edit-s-amount")
            with gr.Row():
                strip = gr.Checkbox(False, label="strip (strengths -1 .. 1)", elem_id="edit-strip")
                steps = gr.Slider(2, 11, value=7, step=1, label="images in the strip", elem_id="edit-steps")
            with gr.Row():
                psi, noise = sampling(gr, "edit")
        with gr.Column(scale=2):
            run = gr.Button("Edit", variant="primary", elem_id="edit-run")
            image = output_image(gr, "edited", "edit-image")
            files = gr.File(label="W+ latents", interactive=False, elem_id="edit-files")

        def edit(seed, latent, direction, weight, layer, channel, amount, strip, steps, psi, noise, label, *sefa):
            return studio.edit(seed, latent, sefa, direction, weight, (layer, channel, amount), strip, steps, psi,
                               noise, label)
        run.click(shown(gr, edit), [seed, latent, direction, weight, layer, channel, amount, strip, steps, psi, noise,
                                    label, *sefa], [image, files], **MODEL)
    return latent


def project_tab(gr, studio, label, tabs, edit_latent):
    with gr.Tab("Project", id="project"):
        with gr.Row():
            upload = gr.File(label="image to project", file_types=IMAGE_FILES, height=UPLOAD_HEIGHT,
                             elem_id="proj-image")
            steps = gr.Slider(1, 1000, value=100, step=1, label="steps", elem_id="proj-steps")
        with gr.Row():
            run = gr.Button("Project", variant="primary", elem_id="proj-run")
            stop = gr.Button("Stop", elem_id="proj-stop")
        with gr.Row():
            live = output_image(gr, "optimising", "proj-live", kind="numpy")
            result = output_image(gr, "projected", "proj-result")
        latent = gr.File(label="latent (.npz: W+ and noise maps)", interactive=False, elem_id="proj-latent")
        to_edit = gr.Button("Edit this latent", elem_id="proj-to-edit")

        def project(upload, steps, label, progress=gr.Progress()):
            run = studio.projection(upload, steps, label)
            every = max(1, int(steps) // LIVE_FRAMES)
            while True:
                try:
                    step, total, image = next(run)
                except StopIteration as done:
                    png, npz = done.value
                    break
                progress((step, total), desc="projecting", unit="steps")
                if step % every == 0:
                    yield image, gr.skip(), gr.skip()
            yield gr.skip(), png, npz
        event = run.click(shown(gr, project), [upload, steps, label], [live, result, latent], **MODEL)
        stop.click(None, None, None, cancels=[event])
        to_edit.click(lambda path: (path, gr.Tabs(selected="edit")), [latent], [edit_latent, tabs])


def encode_tab(gr, studio):
    with gr.Tab("Encode (pSp)", id="encode"):
        with gr.Row():
            upload = gr.File(label="image to invert (a photo, a sketch, a label map, a small photo: as the task)",
                             file_types=IMAGE_FILES, height=UPLOAD_HEIGHT, elem_id="enc-image")
            tasks = studio.encoder.fitting_tasks()
            task = gr.Dropdown(tasks, value=tasks[0], label="task", elem_id="enc-task")
        with gr.Row():
            mask = gr.Textbox("", label="multi-modal: W+ entries that take random styles (e.g. 8-17; empty: none)",
                              elem_id="enc-mask")
            outputs = gr.Number(5, precision=0, minimum=1, label="multi-modal outputs", elem_id="enc-n")
        run = gr.Button("Encode", variant="primary", elem_id="enc-run")
        with gr.Row():
            image = output_image(gr, "reconstruction", "enc-result")
            multimodal = output_image(gr, "multi-modal outputs (input, then one per style)", "enc-multimodal")
        latent = gr.File(label="W+ latent (.npy)", interactive=False, elem_id="enc-latent")
        run.click(shown(gr, studio.encode), [upload, task, mask, outputs], [image, latent, multimodal], **MODEL)


def build_page(studio):
    """The Gradio Blocks of the app."""
    gr = gradio()
    name = os.path.basename(studio.base.weights_path)
    with gr.Blocks(title=f"ppgan-stylegan: {name}") as page:
        gr.Markdown(f"### ppgan-stylegan · `{name}` · {studio.base.source}")
        conditional = bool(studio.c_dim)
        label = gr.Number(0, precision=0, minimum=0, maximum=max(0, studio.c_dim - 1), visible=conditional,
                          label=f"class (0-{studio.c_dim - 1})" if conditional else "class", elem_id="class")
        with gr.Tabs() as tabs:
            generate_tab(gr, studio, label)
            mixing_tab(gr, studio, label)
            edit_latent = edit_tab(gr, studio, label)
            project_tab(gr, studio, label, tabs, edit_latent)
            if studio.encoder is not None:
                encode_tab(gr, studio)
            with gr.Tab("Model card", id="card"):
                gr.Markdown(studio.card(), elem_id="card")
    return page


def serve(studio, host="127.0.0.1", port=7860, share=False, max_upload_mb=10, block=True):
    """Start the page; only the app's run folder (and Gradio's own upload cache) can be downloaded. Returns
    (page, local URL) when ``block`` is False."""
    page = build_page(studio)
    page.queue(default_concurrency_limit=1)
    _, url, _ = page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True,
                            allowed_paths=[os.path.abspath(studio.output_dir)], max_file_size=f"{max_upload_mb}mb",
                            ssr_mode=False, quiet=True, footer_links=[], css=CSS)
    print(f"ppgan-stylegan app: {url} (outputs in {studio.output_dir}; Ctrl+C stops it)", flush=True)
    if block:
        page.block_thread()
    return page, url
