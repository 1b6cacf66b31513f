"""Linear and spherical interpolation, frame export and the smoothness measure."""

from __future__ import annotations

import builtins
import json

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import engine
from engine.cli import main
from tests.tiny_models import device_under_test
from engine.semantics.interpolate import (
    boomerang,
    even_steps,
    interpolation_latents,
    save_mp4,
    slerp,
    smoothness,
    write_frames,
)


def test_slerp_keeps_the_norm_and_hits_the_endpoints():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    z = interpolation_latents(a, b, steps=11, mode="slerp")
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), np.linalg.norm(a), rtol=1e-5)
    np.testing.assert_allclose(z[0], a, atol=1e-5)
    np.testing.assert_allclose(z[-1], b, atol=1e-5)
    lin = interpolation_latents(a, b, steps=11, mode="linear")
    assert np.linalg.norm(lin[5]) < 0.85 * np.linalg.norm(a)  # lerp cuts through the middle
    # equal angle steps along the great circle
    cos = np.sum(z[:-1] * z[1:], 1) / np.linalg.norm(a) ** 2
    np.testing.assert_allclose(cos, cos[0], atol=1e-5)
    # unequal norms: the norm goes evenly from one to the other
    z2 = slerp(a, 3 * b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(np.linalg.norm(z2, axis=1), np.linalg.norm(a) * np.array([1, 1.5, 2, 2.5, 3]), rtol=1e-5)
    with pytest.raises(ValueError, match="opposite"):
        slerp(a, -a, np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="unknown mode"):
        interpolation_latents(a, b, mode="cubic")


def test_smoothness_measure():
    ramp = np.stack([np.full((4, 4, 3), 10 * i, np.uint8) for i in range(8)])
    s = smoothness(ramp)
    assert s["mean_step"] == pytest.approx(10.0) and s["max_step"] == pytest.approx(10.0) and s["ratio"] == pytest.approx(1.0)
    assert s["smooth"]
    jumpy = ramp.copy()
    jumpy[4:] += 60  # one frame jump
    j = smoothness(jumpy)
    assert j["max_step"] == pytest.approx(70.0) and j["ratio"] > 2 and not j["smooth"]
    with pytest.raises(ValueError):
        smoothness(ramp[:1])


def test_gif_strip_and_mp4_export(tmp_path, monkeypatch):
    frames = np.stack([np.full((16, 16, 3), (17 * i, 255 - 17 * i, 90), np.uint8) for i in range(9)])
    gif = write_frames(frames, tmp_path / "a.gif", fps=10)
    back = iio.imread(gif, index=None)
    assert back.shape[0] == 9 and back.shape[1:3] == (16, 16)
    assert np.abs(back[..., :3].astype(int)[4] - frames[4]).mean() < 8
    loop = write_frames(boomerang(frames), tmp_path / "loop.gif")
    assert iio.imread(loop, index=None).shape[0] == 16
    strip = np.asarray(Image.open(write_frames(frames, tmp_path / "s.png")))
    assert strip.shape == (16 + 4, 9 * 18 + 2, 3)
    with pytest.raises(ValueError, match=r"\.gif, \.mp4 or \.png"):
        write_frames(frames, tmp_path / "a.avi")
    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    with pytest.raises(RuntimeError, match=r"imageio-ffmpeg.*latent-studio\[video\]"):
        save_mp4(frames, tmp_path / "a.mp4")


def test_mp4_when_ffmpeg_is_installed(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    frames = np.stack([np.full((20, 20, 3), 12 * i, np.uint8) for i in range(6)])
    path = write_frames(frames, tmp_path / "a.mp4", fps=6)
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="FFMPEG") as r:
        n = sum(1 for _ in r)
    assert n == 6 and path.stat().st_size > 0


def test_even_steps_equalise_pixel_steps(tiny_ckpt):
    m = engine.load_model(str(tiny_ckpt), device=device_under_test())
    za, zb = m.sample_latents(2, seed=1) * 2
    z, t = even_steps(m, za, zb, 10, "slerp")
    assert t[0] == 0 and t[-1] == pytest.approx(1.0) and np.all(np.diff(t) > 0)
    assert smoothness(m.decode(z))["ratio"] < 1.3


def test_cli_interpolate_between_two_images(tiny_ckpt, celeba_dir, tmp_path, capsys):
    imgs = sorted((celeba_dir / "img_align_celeba").glob("*.png"))
    out, strip = tmp_path / "anim.gif", tmp_path / "strip.png"
    argv = ["interpolate", str(imgs[0]), str(imgs[1]), "--model", str(tiny_ckpt), "--steps", "16", "--mode", "slerp",
            "--out", str(out), "--strip", str(strip), "--scale", "2", "--json"]  # fmt: skip
    assert main(argv) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["frames"] == 16 and r["ratio"] >= 1.0 and r["max_step"] >= r["mean_step"] > 0
    assert iio.imread(out, index=None).shape[:3] == (16, 64, 64)
    assert np.asarray(Image.open(strip)).shape == (64 + 4, 16 * 66 + 2, 3)
    assert main(["interpolate", str(imgs[0]), "sample:1", "--model", str(tiny_ckpt), "--steps", "1", "--out", str(out)]) == 2
    assert main(["interpolate", str(imgs[0]), "sample:1", "--model", str(tiny_ckpt), "--out", str(tmp_path / "x.avi")]) == 2


def test_real_photo_crops():
    pytest.importorskip("skimage")
    from engine.semantics.photos import face_crop, sample_photos

    photos = sample_photos(64)
    assert set(photos) == {"astronaut", "lfw0"}
    assert all(p.shape == (64, 64, 3) and p.dtype == np.uint8 for p in photos.values())
    flat = np.full((40, 80, 3), 7, np.uint8)  # no face: the centre square
    assert face_crop(flat, 32).shape == (32, 32, 3)
