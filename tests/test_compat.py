"""The compat shim makes ppgan importable on Paddle >= 2.6, Paddle loads safely (zlib) on 2.6 and 3.x, and our
names are registered."""
import subprocess
import sys

import pytest
import paddle

from conftest import ROOT


@pytest.mark.slow
def test_ppgan_models_import_after_our_package():
    code = (
        "import ppgan_stylegan\n"
        "import ppgan.models\n"
        "from ppgan.models.builder import MODELS\n"
        "from ppgan.models.generators.builder import GENERATORS\n"
        "from ppgan.models.discriminators.builder import DISCRIMINATORS\n"
        "from ppgan.engine.trainer import Trainer\n"
        "from ppgan.models.generators.generator_styleganv2 import StyleGANv2Generator\n"
        "from ppgan.models.discriminators.discriminator_styleganv2 import StyleGANv2Discriminator\n"
        "from ppgan.models.styleganv2_model import StyleGAN2Model\n"
        "assert GENERATORS.get('StyleGANv2Generator') is StyleGANv2Generator\n"
        "assert MODELS.get('StyleGAN2Model') is StyleGAN2Model\n"
        "print('imported', Trainer.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "imported Trainer" in out.stdout


@pytest.mark.slow
def test_zlib_works_after_importing_the_package(tmp_path):
    """Paddle 2.6's libpaddle exports zlib's symbols: loaded before Python's zlib module it broke every later
    zlib user (a crash at import, or corrupt streams). A fresh interpreter imports the package, then reads a
    gzip stream, a compressed .npz and a PNG (all zlib) and imports SciPy."""
    code = (
        "import ppgan_stylegan, paddle, gzip, numpy as np\n"
        "from PIL import Image\n"
        "import scipy.linalg\n"
        "data = np.arange(100000, dtype='float32')\n"
        "assert gzip.decompress(gzip.compress(data.tobytes())) == data.tobytes()\n"
        f"np.savez_compressed({str(tmp_path / 'a.npz')!r}, data=data)\n"
        f"assert (np.load({str(tmp_path / 'a.npz')!r})['data'] == data).all()\n"
        "img = (np.arange(64 * 64 * 3) % 251).astype('uint8').reshape(64, 64, 3)\n"
        f"Image.fromarray(img).save({str(tmp_path / 'a.png')!r})\n"
        f"assert (np.asarray(Image.open({str(tmp_path / 'a.png')!r})) == img).all()\n"
        "print('zlib ok on paddle', paddle.__version__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-1000:] + out.stderr[-2000:]
    assert f"zlib ok on paddle {paddle.__version__}" in out.stdout


def test_shim_soft_relu_matches_formula():
    from ppgan_stylegan.core import compat
    x = paddle.to_tensor([-50.0, -1.0, 0.0, 2.0, 50.0])
    y = compat.soft_relu(x).numpy()
    import numpy as np
    ref = np.log1p(np.exp(np.clip(x.numpy(), -40, 40)))
    assert np.allclose(y, ref, rtol=1e-6)


def test_shim_only_when_fluid_missing():
    import os
    from ppgan_stylegan.core import compat
    real_fluid = os.path.isdir(os.path.join(os.path.dirname(paddle.__file__), "fluid"))
    assert compat.SHIM_INSTALLED == (not real_fluid)
    fluid = sys.modules.get("paddle.fluid")
    assert bool(getattr(fluid, "__ppgan_stylegan_shim__", False)) == compat.SHIM_INSTALLED


def test_registered_names_do_not_collide():
    from ppgan.models.discriminators.builder import DISCRIMINATORS
    from ppgan.models.generators.builder import GENERATORS
    import ppgan_stylegan as ps
    assert GENERATORS.get("StyleGAN2Generator") is ps.StyleGAN2Generator
    assert DISCRIMINATORS.get("StyleGAN2Discriminator") is ps.StyleGAN2Discriminator
    assert DISCRIMINATORS.get("StyleGANDiscriminator") is ps.StyleGANDiscriminator
    # ppgan's own classes are still the ones under ppgan's names
    assert GENERATORS.get("StyleGANv2Generator").__module__.startswith("ppgan.")
    assert DISCRIMINATORS.get("StyleGANv2Discriminator").__module__.startswith("ppgan.")


def test_build_from_yaml_style_config():
    from ppgan.models.discriminators.builder import build_discriminator
    from ppgan.models.generators.builder import build_generator
    g = build_generator({"name": "StyleGAN2Generator", "size": 8, "style_dim": 16, "n_mlp": 1})
    d = build_discriminator({"name": "StyleGANDiscriminator", "size": 8, "fmap_base": 64, "fmap_max": 16})
    img, _ = g([paddle.randn([2, 16])])
    assert img.shape == [2, 3, 8, 8]
    assert d(img).shape == [2, 1]
