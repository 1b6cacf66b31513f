"""The one image loader: modes, EXIF orientation, size guard, corrupt files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine.data.images import ImageLoadError, load_image, to_model_input


def _save(img: Image.Image, path, fmt="PNG", **kw):
    img.save(path, fmt, **kw)
    return path


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "RGB", "CMYK", "I;16", "1"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    img = Image.new(mode, (13, 7))
    path = _save(img, tmp_path / f"x.{fmt.lower()}", fmt)
    arr = load_image(path)
    assert arr.shape == (7, 13, 3) and arr.dtype == np.uint8


def test_transparency_composited_over_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    arr = load_image(_save(img, tmp_path / "t.png"))
    assert (arr == 255).all()


def test_sixteen_bit_range_is_rescaled(tmp_path):
    a = np.array([[0, 1000], [2000, 4000]], dtype=np.uint16)
    arr = load_image(_save(Image.fromarray(a), tmp_path / "g.png"), mode="L")
    assert arr.min() == 0 and arr.max() == 255


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 10))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "o.jpg"
    img.save(path, "JPEG", exif=exif.tobytes(), quality=95)
    arr = load_image(path)
    assert arr.shape[:2] == (20, 10)  # portrait after transpose
    assert arr[:8].mean() > 200 and arr[12:].mean() < 50  # the white half is now on top


def test_truncated_file_is_rejected(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="cut.png: corrupt or truncated"):
        load_image(path)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "the file is empty"), (b"hello, not an image at all", "not an image file")],
)
def test_junk_files(tmp_path, content, message):
    path = tmp_path / "junk.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=message):
        load_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="is a folder"):
        load_image(tmp_path)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = _save(Image.new("L", (2000, 2000)), tmp_path / "big.png")
    with pytest.raises(ImageLoadError, match="over the 1 MP limit"):
        load_image(path, max_pixels=1_000_000)


def test_animated_takes_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    arr = load_image(path)
    assert arr[0, 0, 0] > 200 and arr[0, 0, 2] < 50


def test_model_input_crops_centre_square_and_resizes():
    img = np.zeros((30, 90, 3), np.uint8)
    img[:, 30:60] = 255  # the centre square is white
    out = to_model_input(img, 16)
    assert out.shape == (16, 16, 3) and out.min() > 250
    with pytest.raises(ValueError, match="uint8"):
        to_model_input(img.astype(np.float32), 16)
