"""The flat export at 16 bits per channel: PNG and TIFF read back by other programs' readers
(OpenCV, tifffile), the original's pixels exact, and the 8-bit export within rounding."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import photo as ph
from engine import protocol as p
from engine.export_16bit import composite_float, export_16bit, png16, tiff16
from tests.tiny_models import device_under_test

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def opened(tiny_ckpt, astronaut):
    return ph.open_photo(engine.load_model(str(tiny_ckpt), device=device_under_test()), astronaut)


def read16(path) -> np.ndarray:
    if path.suffix == ".png":
        cv2 = pytest.importorskip("cv2")
        return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    return pytest.importorskip("tifffile").imread(str(path))


@pytest.mark.parametrize("name", ["edit16.png", "edit16.tif"])
def test_16bit_export_is_the_8bit_export_with_the_fraction_kept(opened, astronaut, tmp_path, name):
    z = opened.edited_latent(edits=p.EditStack(ops=(p.AttributeStep(name="Eyeglasses", amount=3.0),)))
    mask = np.ones(astronaut.shape[:2], np.float32)
    mask[:, :200] = 0.3
    out = export_16bit(opened, z, tmp_path / name, mask)
    assert out["format"].endswith("16-bit") and out["size"] == (astronaut.shape[1], astronaut.shape[0])
    deep = read16(tmp_path / name)
    assert deep.dtype == np.uint16 and deep.shape == astronaut.shape
    flat = opened.composite(z, mask)
    assert np.abs(np.rint(deep / 257.0) - flat).max() <= 1
    changed = np.abs(flat.astype(int) - astronaut).max(-1) > 0
    x0, y0, x1, y1 = opened.region
    outside = np.ones(changed.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert changed.any() and outside.any()
    np.testing.assert_array_equal(deep[outside], astronaut[outside].astype(np.uint16) * 257)  # untouched: exact
    assert (deep[changed] % 257 != 0).mean() > 0.5  # the fractional change is kept


def test_zero_edit_is_the_original_times_257_and_names_are_checked(opened, astronaut, tmp_path):
    np.testing.assert_array_equal(composite_float(opened, opened.z), astronaut.astype(np.float32))
    export_16bit(opened, opened.z, tmp_path / "same.tiff")
    np.testing.assert_array_equal(read16(tmp_path / "same.tiff"), astronaut.astype(np.uint16) * 257)
    with pytest.raises(ph.PhotoError, match="already exists"):
        export_16bit(opened, opened.z, tmp_path / "same.tiff")
    with pytest.raises(ph.PhotoError, match=r"\.png, \.tif"):
        export_16bit(opened, opened.z, tmp_path / "deep.jpg")


def test_writers_round_trip_with_an_icc_profile(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 65536, (9, 13, 3), dtype=np.uint16)
    icc = bytes(range(256)) * 2
    for name, data in (("a.png", png16(rgb, icc)), ("a.tif", tiff16(rgb, icc))):
        (tmp_path / name).write_bytes(data)
        np.testing.assert_array_equal(read16(tmp_path / name), rgb)
        with Image.open(tmp_path / name) as im:  # ordinary 8-bit readers open them too
            assert im.size == (13, 9) and im.info.get("icc_profile") == icc


def test_engine_answers_a_16bit_export_photo(tiny_ckpt, astronaut, tmp_path):
    from engine.service import Engine

    eng = Engine()
    eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test()))
    assert not isinstance(eng.handle(p.OpenPhoto(image=astronaut, detector="centre")), p.ErrorResponse)
    answer = eng.handle(p.ExportPhoto(path=str(tmp_path / "deep.png"), bit_depth=16,
                                      edits=p.EditStack(ops=(p.DimensionStep(dim=0, amount=2.0),))))
    assert isinstance(answer, p.Exported) and answer.format == "PNG 16-bit", answer
    wrong = eng.handle(p.ExportPhoto(path=str(tmp_path / "x.png"), bit_depth=12))
    assert isinstance(wrong, p.ErrorResponse) and "bit_depth" in wrong.message
