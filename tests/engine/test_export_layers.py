"""OpenRaster export: read the .ora back with zipfile and check what Krita/GIMP/MyPaint rely on,
and that the original with the edit layer blended over it is the flat export."""

from __future__ import annotations

import io
import os
import zipfile
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

import engine
from engine import photo as ph
from engine import protocol as p
from engine.export_layers import edit_layer, export_layers
from tests.tiny_models import device_under_test

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def opened(tiny_ckpt, astronaut):
    return ph.open_photo(engine.load_model(str(tiny_ckpt), device=device_under_test()), astronaut)


def blend(bottom: np.ndarray, rgba: np.ndarray, x: int, y: int) -> np.ndarray:
    """Normal (src-over) blending of an 8-bit RGBA layer at (x, y), as painting programs do."""
    out = bottom.astype(np.float64)
    h, w = rgba.shape[:2]
    a = rgba[..., 3:].astype(np.float64) / 255.0
    out[y : y + h, x : x + w] = rgba[..., :3] * a + out[y : y + h, x : x + w] * (1.0 - a)
    return np.rint(out).astype(np.uint8)


def read_png(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(zf.read(name))))


def test_ora_layout_and_original_plus_edit_is_the_flat_export(opened, astronaut, tmp_path):
    h, w = astronaut.shape[:2]
    mask = np.ones((h, w), np.float32)
    mask[:, : w // 2] = 0.25  # a painted mask: the alpha must follow it too
    z = opened.edited_latent(edits=p.EditStack(ops=(p.AttributeStep(name="Eyeglasses", amount=3.0),)))
    out = export_layers(opened, z, tmp_path / "edit.ora", mask)
    flat = opened.composite(z, mask)
    assert out["format"] == "OpenRaster" and out["bytes"] == os.path.getsize(tmp_path / "edit.ora")

    with zipfile.ZipFile(tmp_path / "edit.ora") as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED and not first.extra
        assert zf.read("mimetype") == b"image/openraster"
        with open(tmp_path / "edit.ora", "rb") as f:  # readers sniff these bytes at a fixed offset
            assert f.read(38 + 16)[38:] == b"image/openraster"
        root = ElementTree.fromstring(zf.read("stack.xml"))
        assert (root.get("w"), root.get("h")) == (str(w), str(h))
        layers = root.find("stack").findall("layer")
        assert [layer.get("name") for layer in layers] == ["Mask", "Edit", "Original"]  # top first
        assert [layer.get("visibility") for layer in layers] == ["hidden", "visible", "visible"]
        for layer in layers:
            assert {"src", "x", "y", "opacity", "visibility", "name"} <= set(layer.keys())
        original = read_png(zf, "data/original.png")
        np.testing.assert_array_equal(original, astronaut)
        edit = layers[1]
        rgba = read_png(zf, edit.get("src"))
        x, y = int(edit.get("x")), int(edit.get("y"))
        assert rgba.shape[2] == 4 and (x, y, x + rgba.shape[1], y + rgba.shape[0]) == tuple(opened.region)
        composed = blend(original, rgba, x, y)
        assert np.abs(composed.astype(int) - flat).max() <= 1  # within rounding of the 8-bit blend
        assert np.abs(flat.astype(int) - astronaut).max() > 2  # and the edit did change something
        mask_layer = read_png(zf, layers[0].get("src"))
        assert mask_layer.shape == rgba.shape[:2] and mask_layer.dtype == np.uint8
        assert mask_layer[:, : max(1, w // 2 - x - 4)].max() <= 64 < mask_layer.max()  # the painted 0.25 shows
        np.testing.assert_array_equal(read_png(zf, "mergedimage.png"), flat)
        thumb = read_png(zf, "Thumbnails/thumbnail.png")
        assert max(thumb.shape[:2]) <= 256 and thumb.shape[2] == 3


def test_ora_refuses_existing_files_and_other_names(opened, tmp_path):
    (tmp_path / "taken.ora").write_bytes(b"keep me")
    with pytest.raises(ph.PhotoError, match="already exists"):
        export_layers(opened, opened.z, tmp_path / "taken.ora")
    assert (tmp_path / "taken.ora").read_bytes() == b"keep me"
    with pytest.raises(ph.PhotoError, match=r"\.ora"):
        export_layers(opened, opened.z, tmp_path / "edit.png")
    export_layers(opened, opened.z, tmp_path / "taken.ora", overwrite=True)
    assert zipfile.is_zipfile(tmp_path / "taken.ora")


def test_edit_layer_carries_changes_beyond_the_mask():
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    edited = np.clip(original.astype(int) + rng.integers(-80, 80, original.shape), 0, 255).astype(np.uint8)
    alpha = np.zeros((16, 16), np.float32)  # the mask says nothing: alpha is raised where needed
    alpha[4:8] = 0.5
    rgba = edit_layer(original, edited, alpha)
    assert np.abs(blend(original, rgba, 0, 0).astype(int) - edited).max() <= 1
    same = edit_layer(original, original, alpha)
    np.testing.assert_array_equal(same[..., :3], original)
    np.testing.assert_array_equal(same[..., 3], np.rint(alpha * 255))


def test_engine_answers_export_layers(tiny_ckpt, astronaut, tmp_path):
    from engine.service import Engine

    eng = Engine()
    assert not isinstance(eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())), p.ErrorResponse)
    assert isinstance(eng.handle(p.ExportLayers(path=str(tmp_path / "none.ora"))), p.ErrorResponse)  # no photo open
    assert not isinstance(eng.handle(p.OpenPhoto(image=astronaut, detector="centre")), p.ErrorResponse)
    answer = eng.handle(p.ExportLayers(path=str(tmp_path / "a.ora"), edits=p.EditStack(ops=(p.DimensionStep(dim=0, amount=2.0),))))
    assert isinstance(answer, p.FileWritten) and answer.format == "OpenRaster" and answer.bytes > 0
    error = eng.handle(p.ExportLayers(path=str(tmp_path / "a.ora")))
    assert isinstance(error, p.ErrorResponse) and "already exists" in error.message and "\n" not in error.message
