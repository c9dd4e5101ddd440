"""Videos: H.264 mp4 through imageio-ffmpeg (its own ffmpeg), read back; the GIF fallback without the extra; the
--video flags of generate, edit and project."""
import os

import imageio_ffmpeg
import numpy as np
import paddle
import pytest
from PIL import Image

from conftest import into, run_script
from ppgan_stylegan.core import images as core_images
from ppgan_stylegan.core.images import save_animation, save_video
from ppgan_stylegan.networks import StyleGAN2Generator


def read_back(path):
    """(meta, number of frames, first frame as uint8 [H, W, 3]) of a video, decoded by ffmpeg."""
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8) for f in reader]
    width, height = meta["size"]
    return meta, len(frames), frames[0].reshape(height, width, 3)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_mp4_is_written_and_read_back(tmp_path, channels):
    frames = [np.full((9, 15, channels), 20 * i, np.uint8) for i in range(10)]
    path = save_video(frames, str(tmp_path / "v.mp4"), fps=5)
    meta, count, first = read_back(path)
    assert count == 10 and meta["size"] == (16, 10) and meta["fps"] == 5 and meta["codec"] == "h264"
    expected = 255 if channels == 4 else 0  # RGBA over white: frame 0 has alpha 0
    assert abs(int(first[4, 7, 0]) - expected) <= 3


def test_without_the_video_extra_a_gif_and_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(core_images, "have_extra", lambda module: False)
    path = save_animation([np.full((8, 8, 3), 40 * i, np.uint8) for i in range(4)], str(tmp_path / "walk"), fps=8)
    assert path.endswith("walk.gif") and Image.open(path).n_frames == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -e .[video]" in err[0]


@pytest.mark.slow
def test_generate_edit_and_project_write_videos(tmp_path):
    paddle.seed(0)
    gen = StyleGAN2Generator(size=16, style_dim=16, n_mlp=1, channel_base=64, channel_max=16, img_channels=1)
    weights = str(tmp_path / "g.pdparams")
    paddle.save(gen.state_dict(), weights)
    out = run_script("applications/generate.py", "--weights", weights, "--seeds", "0-2", "--video", "--frames",
                     "4", "--fps", "6", *into(tmp_path / "gen"))
    assert out.returncode == 0, out.stderr[-2000:]
    meta, count, _ = read_back(str(tmp_path / "gen" / "walk.mp4"))
    assert count == 12 and meta["size"] == (16, 16) and meta["fps"] == 6  # 3 seeds x 4 frames, back to the first
    out = run_script("applications/edit.py", "--weights", weights, "--seed", "1", "--sefa", "0", "--steps", "5",
                     "--video", *into(tmp_path / "edit"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert read_back(str(tmp_path / "edit" / "edit.mp4"))[1] == 5 + 3  # there and back
    target = str(tmp_path / "target.png")
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (20, 20), np.uint8)).save(target)
    out = run_script("applications/project.py", "--weights", weights, "--target", target, "--steps", "4",
                     "--video", *into(tmp_path / "project"))
    assert out.returncode == 0, out.stderr[-2000:]
    meta, count, _ = read_back(str(tmp_path / "project" / "target_proj.mp4"))
    assert count == 4 and meta["size"] == (32, 16)  # the target beside each step's image
    assert os.path.isfile(tmp_path / "project" / "target_projected.png")
