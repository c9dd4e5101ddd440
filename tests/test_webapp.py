"""The web app (``ppgan-stylegan app``): its actions against the command lines, and the page driven in a real
browser (Debian's Chromium through Selenium) as a person would: typing, ticking, uploading, clicking."""
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import paddle
import pytest
from PIL import Image

from conftest import ROOT, into, randomize, run_script, tiny_generator_file
from ppgan_stylegan.apps.project import Projector

# README pictures: PPGAN_STYLEGAN_SCREENSHOTS=docs/images PPGAN_STYLEGAN_APP_WEIGHTS=output/demo-latest/<weights>
# runs the browser test on the demo's generator and keeps the tabs' screenshots there too
SCREENSHOTS = os.environ.get("PPGAN_STYLEGAN_SCREENSHOTS")
APP_WEIGHTS = os.environ.get("PPGAN_STYLEGAN_APP_WEIGHTS")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny 16 px generator's weight file, with what our trainer records of the training."""
    return tiny_generator_file(tmp_path_factory.mktemp("w"), meta={"iteration": 10, "images_seen": 160})


@pytest.fixture(scope="module")
def psp(weights, tmp_path_factory):
    """A PaddleGAN-layout pSp file (encoder.*, decoder.*, latent_avg) of a tiny encoder over the tiny generator."""
    from ppgan_stylegan import PSPEncoder
    paddle.seed(5)
    decoder = paddle.load(weights)["gen_ema"]
    encoder = randomize(PSPEncoder(n_styles=6, style_dim=16, input_size=16, units=[1, 1, 1, 1],
                                   widths=[8, 16, 24, 32]), 3)
    state = {f"encoder.{k}": v for k, v in encoder.state_dict().items() if k != "latent_avg"}
    state.update({f"decoder.{k}": v for k, v in decoder.items() if not k.startswith("w_avg")})
    state["latent_avg"] = paddle.to_tensor(np.random.RandomState(0).standard_normal([1, 6, 16]).astype("float32"))
    path = str(tmp_path_factory.mktemp("psp") / "psp.pdparams")
    paddle.save(state, path)
    return path


def pixels(source):
    """An image file / PNG bytes -> int array."""
    return np.asarray(Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)).astype(int)


def cli(command, *args):
    out = run_script(f"applications/{command}.py", *args)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


# ---------------------------------------------------------------------- the actions, without a browser
def test_studio_actions_equal_the_command_lines(weights, tmp_path):
    """generate / mix from the app's Studio are the commands' own PNGs; an edit at strength 0 is the start image;
    the model card names what the weight file says."""
    from ppgan_stylegan.apps.webapp import Studio
    studio = Studio(weights, output_dir=str(tmp_path / "app"))
    png, files = studio.generate("3", 0.7, 0, "const", 0, single=True)
    cli("generate", "--weights", weights, "--seeds", "3", "--trunc", "0.7", "--per-seed", *into(str(tmp_path / "g")))
    expected = str(tmp_path / "g" / "seed0003.png")
    assert np.array_equal(pixels(png), pixels(expected)) and files[1].endswith("seed0003.npy")
    mixed = studio.mix("0-1", "5-6", "coarse", 1.0, "const", 0)
    cli("style_mixing", "--weights", weights, "--rows", "0-1", "--cols", "5-6", "--styles", "coarse",
        *into(str(tmp_path / "m")))
    assert np.array_equal(pixels(mixed), pixels(str(tmp_path / "m" / "style_mixing.png")))
    start, _ = studio.edit(3, None, [0.0] * 5, psi=0.7)
    assert np.array_equal(pixels(start), pixels(expected))
    moved, latents = studio.edit(3, None, [4.0, 0, 0, 0, 0], s_edit=(1, 2, 5.0), psi=0.7)
    assert not np.array_equal(pixels(moved), pixels(expected)) and np.load(latents).shape == (1, 6, 16)
    strip, _ = studio.edit(3, None, [0.0] * 5, s_edit=(1, 2, 5.0), strip=True, steps=3, psi=0.7)
    assert pixels(strip).shape[1] > 2 * pixels(expected).shape[1]  # three images side by side
    card = studio.card()
    assert "16 x 16, 3 channel(s)" in card and "| training images seen | 160 |" in card and "gen_ema" in card


@pytest.mark.parametrize("action, args, says", [
    ("generate", ("0-x",), "seeds"),
    ("generate", ("3", 1.0, None), "truncation cutoff: expected an integer >= 0, got None"),
    ("mix", ("0-1", "2-3", "0-99"), "styles"),
    ("edit", (None,), "start seed: expected an integer >= 0, got None"),
    ("edit", (3, None, [0] * 5, None, 0.0, (99, 0, 1.0)), "S layers"),
])
def test_what_a_person_may_type_is_one_user_error(weights, tmp_path, action, args, says):
    """Emptied number fields, seed lists and layer specs that do not parse: a UserError (one message in the page)
    naming the field, not a traceback."""
    from ppgan_stylegan.apps.webapp import Studio
    from ppgan_stylegan.core.errors import UserError
    studio = Studio(weights, output_dir=str(tmp_path / "app"))
    with pytest.raises(UserError, match=re.escape(says)):
        getattr(studio, action)(*args)


def test_projection_steps_and_its_latent_reproduce_the_image(weights, tmp_path):
    """The Project tab's run: one live image per step, then a PNG and an .npz that ``generate --latents``
    renders to the same pixels; a file that is not an image is one user error."""
    from ppgan_stylegan.apps.webapp import Studio
    from ppgan_stylegan.core.errors import UserError
    studio = Studio(weights, output_dir=str(tmp_path / "app"))
    target, _ = studio.generate("5", 1.0, 0, "const", 0, single=True)
    run = studio.projection(target, 4)
    live = []
    while True:
        try:
            live.append(next(run))
        except StopIteration as done:
            png, npz = done.value
            break
    assert [step for step, _, _ in live] == [1, 2, 3, 4] and live[0][2].shape == (16, 16, 3)
    cli("generate", "--weights", weights, "--latents", npz, "--per-seed", *into(str(tmp_path / "g")))
    rendered = str(tmp_path / "g" / (os.path.basename(npz)[:-4] + ".png"))
    assert np.abs(pixels(rendered) - pixels(png)).max() <= 1
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(UserError, match="notes.png"):
        next(studio.projection(str(bad), 4))


def test_encode_equals_the_encode_command(weights, psp, tmp_path):
    """The Encode tab's action on an image is the encode command's W+ and reconstruction; without --psp it says
    how to get the tab."""
    from ppgan_stylegan.apps.webapp import Studio
    from ppgan_stylegan.core.errors import UserError
    studio = Studio(weights, output_dir=str(tmp_path / "app"), psp=psp)
    face, _ = studio.generate("2", 1.0, 0, "const", 0, single=True)
    (tmp_path / "faces").mkdir()
    shutil.copy(face, tmp_path / "faces" / "face.png")
    recon, latent, none = studio.encode(str(tmp_path / "faces" / "face.png"))
    cli("encode", "--weights", psp, "--images", str(tmp_path / "faces"), "--no-align", *into(str(tmp_path / "e")))
    assert np.array_equal(pixels(recon), pixels(str(tmp_path / "e" / "face_recon.png")))
    assert np.allclose(np.load(latent), np.load(tmp_path / "e" / "face.npy"), atol=1e-6) and none is None
    # a task and the multi-modal grid: the encode command's, with the same flags
    assert studio.encoder.fitting_tasks()[0] == "encode" and "superres" in studio.encoder.fitting_tasks()
    recon, _, grid_file = studio.encode(str(tmp_path / "faces" / "face.png"), "superres", "3-5", 3)
    cli("encode", "--weights", psp, "--images", str(tmp_path / "faces"), "--no-align", "--task", "superres",
        "--latent-mask", "3-5", "--n-outputs", "3", *into(str(tmp_path / "e2")))
    assert np.array_equal(pixels(recon), pixels(str(tmp_path / "e2" / "face_recon.png")))
    assert np.array_equal(pixels(grid_file), pixels(str(tmp_path / "e2" / "face_multimodal.png")))
    with pytest.raises(UserError, match="task sketch2face gives 1"):
        studio.encode(str(tmp_path / "faces" / "face.png"), "sketch2face")
    with pytest.raises(UserError, match="--psp"):
        Studio(weights, output_dir=str(tmp_path / "plain")).encode(face)


def test_a_conditional_generator_takes_the_class_from_the_page(tmp_path):
    """With a class-conditional generator every action draws from the class the page gives (the --class K of
    the commands)."""
    from ppgan_stylegan import StyleGAN2Generator
    from ppgan_stylegan.apps.webapp import Studio
    paddle.seed(2)
    g = randomize(StyleGAN2Generator(16, style_dim=16, n_mlp=2, channel_base=256, channel_max=32, c_dim=2), 4)
    weights = str(tmp_path / "cond.pdparams")
    paddle.save({"gen_ema": g.state_dict()}, weights)
    studio = Studio(weights, output_dir=str(tmp_path / "app"))
    one = pixels(studio.generate("3", 1.0, 0, "const", 1, single=True)[0])
    zero = pixels(studio.generate("3", 1.0, 0, "const", 0, single=True)[0])  # (the same file name: read first)
    cli("generate", "--weights", weights, "--seeds", "3", "--class", "1", "--per-seed", *into(str(tmp_path / "g")))
    assert np.array_equal(pixels(str(tmp_path / "g" / "seed0003.png")), one)
    assert not np.array_equal(one, zero) and "| classes | 2 |" in studio.card()


def test_projection_aligns_uploads_with_landmarks(weights, tmp_path):
    """With --landmarks the Project tab's target is the upload aligned FFHQ-style (as encode aligns); an upload
    the file does not name is one user error."""
    from ppgan_stylegan.apps.align import align_face
    from ppgan_stylegan.apps.webapp import Studio
    from ppgan_stylegan.core.errors import UserError
    from ppgan_stylegan.core.images import read_image
    face = tmp_path / "face.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 255, [40, 40, 3], dtype=np.uint8)).save(face)
    points = np.zeros([68, 2])
    points[36:42], points[42:48], points[48], points[54] = [16, 18], [24, 18], [17, 28], [23, 28]
    table = tmp_path / "landmarks.json"
    table.write_text(json.dumps({"face.png": points.tolist()}))
    studio = Studio(weights, output_dir=str(tmp_path / "app"), landmarks=str(table))
    app = studio.predictor(Projector)
    aligned = app.load_image(str(face), align_face(read_image(str(face)), points, 40)).numpy()
    assert np.array_equal(studio.target(app, str(face)).numpy(), aligned)
    assert not np.array_equal(aligned, app.load_target(str(face)).numpy())
    other = tmp_path / "other.png"
    shutil.copy(face, other)
    with pytest.raises(UserError, match="other.png"):
        next(studio.projection(str(other), 2))


def test_app_without_gradio_says_how_to_install_it(weights, tmp_path):
    code = ("import sys; sys.modules['gradio'] = None; from ppgan_stylegan.cli import main; "
            f"sys.exit(main(['app', '--weights', {weights!r}, '--outdir', {str(tmp_path)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 2 and "pip install -e .[app]" in out.stderr and "Traceback" not in out.stderr


def test_app_help_documents_every_flag_with_its_default():
    out = run_script("applications/app.py", "--help")
    for flag, default in [("--host", "127.0.0.1"), ("--port", "7860"), ("--max-upload-mb", "10"),
                          ("--outdir", "output")]:
        assert re.search(re.escape(flag) + r"[^\n]*\n?(?:[^\n]*\n){0,3}?[^\n]*\(default: " + re.escape(default),
                         out.stdout), flag
    assert all(flag in out.stdout for flag in ("--share", "--psp", "--landmarks", "--landmarks-model"))


# ---------------------------------------------------------------------- the page in a browser
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page_weights(weights):
    """The generator the browser test drives: the tiny one, or PPGAN_STYLEGAN_APP_WEIGHTS."""
    return APP_WEIGHTS or weights


SERVER_CONSOLE = []  # the console log file of the running app (server fixture)


@pytest.fixture(scope="module")
def server(page_weights, psp, tmp_path_factory):
    """``applications/app.py`` on a free localhost port, as a user starts it: (URL, its run folder)."""
    out = tmp_path_factory.mktemp("app")
    port = free_port()
    console = out / "console.log"  # what the server prints (the tests read it)
    proc = subprocess.Popen([sys.executable, "applications/app.py", "--weights", page_weights, "--port", str(port),
                             "--psp", psp, "--outdir", str(out), "--name", "run"], cwd=ROOT, stdout=open(console, "w"),
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONPATH=ROOT,
                                                                          PYTHONUNBUFFERED="1"))
    found, start = None, time.time()
    while found is None:
        found = re.search(r"ppgan-stylegan app: .*?(http://\S+?)/? ", console.read_text())
        assert found or proc.poll() is None, "the app exited before it listened"
        assert time.time() - start < 240, "the app did not start within 4 minutes"
        time.sleep(0.1)
    SERVER_CONSOLE.append(console)
    yield found.group(1), str(out / "run")
    proc.terminate()
    proc.wait(timeout=30)


def chromium():
    """(browser, driver) paths, or a skip (locally) / failure (CI) naming what is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    message = "no Chromium / chromedriver found (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    path, driver_path = chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = path
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1250"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


class Page:
    """A person at the page: types, ticks, uploads, clicks, waits for what comes back."""

    def __init__(self, driver, url, shots):
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait
        self.driver, self.url, self.shots, self.keys = driver, url, shots, Keys
        self.wait = WebDriverWait(driver, 180, poll_frequency=0.2)
        driver.get(url)
        self.wait.until(lambda d: d.find_elements("css selector", "#gen-run"))

    def find(self, css):
        return self.driver.find_element("css selector", css)

    def type(self, elem_id, text):
        field = self.find(f"#{elem_id} textarea, #{elem_id} input[type=number], #{elem_id} input[type=text]")
        field.send_keys(self.keys.CONTROL, "a")
        field.send_keys(str(text), self.keys.TAB)

    def click(self, elem_id):
        self.find(f"#{elem_id}").click()

    def tick(self, elem_id):
        self.find(f"#{elem_id} input[type=checkbox]").click()

    def tab(self, name):
        self.driver.find_element("xpath", f"//button[@role='tab' and normalize-space(.)='{name}']").click()

    def upload(self, elem_id, path):
        for clear in self.driver.find_elements("css selector", f"#{elem_id} button[aria-label=Clear]"):
            clear.click()  # (a file is there already: the person removes it first)
        self.wait.until(lambda d: d.find_elements("css selector", f"#{elem_id} input[type=file]"))
        self.find(f"#{elem_id} input[type=file]").send_keys(os.path.abspath(path))
        self.wait.until(lambda d: d.find_elements("css selector", f"#{elem_id} button[aria-label=Clear]"))

    def image(self, elem_id, old=None):
        """The URL of the image shown in ``elem_id`` once it is there (and differs from ``old``)."""
        def src(driver):
            found = driver.find_elements("css selector", f"#{elem_id} img")
            value = found[0].get_attribute("src") if found else None
            return value if value and value != old else False
        return self.wait.until(src)

    def links(self, elem_id):
        self.wait.until(lambda d: d.find_elements("css selector", f"#{elem_id} a[href]"))
        return [a.get_attribute("href") for a in self.driver.find_elements("css selector", f"#{elem_id} a[href]")]

    def close_messages(self):
        for close in self.driver.find_elements("css selector", "[data-testid=toast-close]"):
            close.click()

    def shot(self, name):
        self.close_messages()
        self.driver.execute_script("window.scrollTo(0, 0)")
        self.driver.save_screenshot(os.path.join(self.shots, f"app_{name}.png"))
        if SCREENSHOTS:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            self.driver.save_screenshot(os.path.join(SCREENSHOTS, f"app_{name}.png"))


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.slow
def test_every_tab_in_a_real_browser(server, browser, page_weights, psp, tmp_path):
    """Each tab driven by clicks and typing; what the page shows is what the commands write."""
    url, run = server
    weights = page_weights
    page = Page(browser, url, str(tmp_path))
    # Generate: seed 3 at psi 0.7, one image = the generate command's PNG; its latent can be downloaded
    page.type("gen-seeds", "3")
    page.tick("gen-single")
    page.type("gen-psi", "0.7")
    page.click("gen-run")
    shown = fetch(page.image("gen-image"))
    cli("generate", "--weights", weights, "--seeds", "3", "--trunc", "0.7", "--per-seed", *into(str(tmp_path / "g")))
    start = pixels(str(tmp_path / "g" / "seed0003.png"))
    assert np.array_equal(pixels(shown), start)
    latent = [link for link in page.links("gen-files") if link.endswith("seed0003.npy")]
    assert latent and np.array_equal(np.load(io.BytesIO(fetch(latent[0]))), np.load(tmp_path / "g" / "seed0003.npy"))
    page.shot("generate")
    # Style mixing: the mix command's grid
    page.tab("Style mixing")
    page.type("mix-rows", "0-1")
    page.type("mix-cols", "5-6")
    page.click("mix-run")
    grid = fetch(page.image("mix-image"))
    cli("style_mixing", "--weights", weights, "--rows", "0-1", "--cols", "5-6", "--styles", "coarse",
        *into(str(tmp_path / "m")))
    assert np.array_equal(pixels(grid), pixels(str(tmp_path / "m" / "style_mixing.png")))
    page.shot("mix")
    # Edit: strength 0 everywhere is the start image; a SeFa slider moves it
    page.tab("Edit")
    page.type("edit-seed", "3")
    page.type("edit-psi", "0.7")
    page.click("edit-run")
    first = page.image("edit-image")
    assert np.array_equal(pixels(fetch(first)), start)
    page.type("edit-sefa-0", "6")
    page.click("edit-run")
    assert not np.array_equal(pixels(fetch(page.image("edit-image", old=first))), start)
    page.shot("edit")
    _project_in_browser(page, tmp_path, weights, run)
    # Encode: the encode command's reconstruction
    page.tab("Encode (pSp)")
    page.upload("enc-image", str(tmp_path / "g" / "seed0003.png"))
    page.type("enc-mask", "3-5")
    page.type("enc-n", "3")
    page.click("enc-run")
    recon = fetch(page.image("enc-result"))
    cli("encode", "--weights", psp, "--images", str(tmp_path / "g"), "--no-align", "--latent-mask", "3-5",
        "--n-outputs", "3", *into(str(tmp_path / "e")))
    assert np.array_equal(pixels(recon), pixels(str(tmp_path / "e" / "seed0003_recon.png")))
    assert np.array_equal(pixels(fetch(page.image("enc-multimodal"))),
                          pixels(str(tmp_path / "e" / "seed0003_multimodal.png")))
    page.shot("encode")
    page.tab("Model card")
    page.wait.until(lambda d: "training images seen" in d.find_element("css selector", "#card").text)
    height, width = pixels(str(tmp_path / "g" / "seed0003.png")).shape[:2]
    assert f"{width} x {height}, 3 channel(s)" in page.find("#card").text
    page.shot("card")


def _project_in_browser(page, tmp_path, weights, run):
    """Project: a bad upload is one message; a projection shows its result and an .npz that generate --latents
    reproduces, which 'Edit this latent' hands to Edit; Stop cancels a long one (its .npz is never written)."""
    page.tab("Project")
    bad = tmp_path / "notes.png"
    bad.write_text("these are notes, not an image")
    page.upload("proj-image", str(bad))
    page.click("proj-run")
    page.wait.until(lambda d: any(t.text.strip() for t in d.find_elements("css selector", "[data-testid=toast-body]")))
    said = page.find("[data-testid=toast-body]").text  # (waited for its text: the toast is drawn before it)
    assert "notes.png: not a readable image" in said and "/gradio/" not in said and "Traceback" not in said
    console = SERVER_CONSOLE[-1].read_text()  # the server's console: one line, no traceback
    assert "user error: " in console and "notes.png: not a readable image" in console and "Traceback" not in console
    page.close_messages()
    target = tmp_path / "g" / "seed0003.png"
    page.upload("proj-image", str(target))
    page.type("proj-steps", "8")
    page.click("proj-run")
    result = fetch(page.image("proj-result"))
    npz = [link for link in page.links("proj-latent") if link.endswith(".npz")]
    assert npz
    saved = tmp_path / "projected.npz"
    saved.write_bytes(fetch(npz[0]))
    cli("generate", "--weights", weights, "--latents", str(saved), "--per-seed", *into(str(tmp_path / "p")))
    assert np.abs(pixels(str(tmp_path / "p" / "projected.png")) - pixels(result)).max() <= 1
    page.shot("project")
    page.click("proj-to-edit")
    page.wait.until(lambda d: d.find_elements("css selector", "#edit-latent a[href]"))
    page.click("edit-run")  # (the projected latent, with its noise maps, at strength 0 + SeFa 0 = 6)
    page.image("edit-image")
    page.tab("Project")
    os.remove(os.path.join(run, "seed0003_projected.npz"))
    page.type("proj-steps", "1000")
    page.click("proj-run")
    page.wait.until(lambda d: d.find_elements("css selector", "#proj-live img"))
    page.click("proj-stop")
    page.tab("Generate")
    page.type("gen-seeds", "4")
    old = page.image("gen-image")
    page.click("gen-run")
    page.image("gen-image", old=old)  # (one model slot: answered only once the projection stopped)
    assert not os.path.exists(os.path.join(run, "seed0003_projected.npz"))


@pytest.mark.slow
def test_the_server_listens_on_localhost_and_serves_only_its_outputs(server, page_weights):
    url, run = server
    weights = page_weights
    host = urllib.parse.urlparse(url).hostname
    assert host == "127.0.0.1"
    output = os.path.join(run, "an_output.png")  # (a file in its run folder, where its actions write)
    Image.new("RGB", (4, 4)).save(output)
    assert status(f"{url}/gradio_api/file={output}") == 200
    for path in (weights, "/etc/passwd", os.path.join(ROOT, "setup.py"), os.path.join(run, "..", "..", "..")):
        assert status(f"{url}/gradio_api/file={path}") in (403, 404), path
    import httpx  # (Gradio's own HTTP client)
    too_big = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.png", b"0" * (11 << 20), "image/png")},
                         timeout=60)
    small = httpx.post(f"{url}/gradio_api/upload", files={"files": ("small.png", b"0" * 1000, "image/png")},
                       timeout=60)
    assert too_big.status_code == 413 and small.status_code == 200  # (--max-upload-mb 10)
