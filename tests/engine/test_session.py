"""Session files: save → load gives the same pixels; versioned, nothing pickled, clear errors."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

import engine
from engine import photo as ph
from engine import protocol as p
from engine import session as ss
from tests.tiny_models import device_under_test

skimage_data = pytest.importorskip("skimage.data")

STACK = p.EditStack(ops=(p.AttributeStep(name="Eyeglasses", amount=2.5), p.DimensionStep(dim=3, amount=-1.0)))


@pytest.fixture(scope="module")
def model(tiny_ckpt):
    return engine.load_model(str(tiny_ckpt), device=device_under_test())


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage_data.astronaut()).save(path, quality=90)
    return path


def painted_mask(shape):
    mask = np.zeros(shape[:2], np.float32)
    mask[100:300, 150:260] = np.linspace(0.2, 1.0, 110, dtype=np.float32)[None, :]
    return mask


def test_save_then_load_gives_the_same_pixels(model, photo_file, tmp_path):
    pe = ph.open_photo(model, photo_file)
    mask = painted_mask(pe.photo.shape)
    before = pe.composite(pe.edited_latent(edits=STACK), mask)
    path = ss.save_session(tmp_path / "edit.lsession", pe, STACK, mask)
    photo_file.unlink()  # the photo is embedded: the session opens without it
    back, stack, mask_back, warnings = ss.load_session(path, model)
    assert warnings == [] and stack == STACK and np.array_equal(mask_back, mask) and mask_back.dtype == np.float32
    assert np.array_equal(back.z, pe.z) and np.array_equal(back.alignment.matrix, pe.alignment.matrix)
    after = back.composite(back.edited_latent(edits=stack), mask_back)
    assert np.array_equal(after, before)
    assert np.array_equal(back.composite(back.z), back.photo)  # undo to the start = the original
    assert back.source.exif is None or isinstance(back.source.exif, bytes)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read("session.json"))
    assert names == {"session.json", "z.npy", "mask.npy", "photo.jpg"}
    assert meta["format"] == "latent-studio/session" and meta["version"] == ss.SESSION_VERSION and meta["edits"]["ops"][0]["name"] == "Eyeglasses"


def test_session_without_embedded_photo_reads_the_source(model, photo_file, tmp_path):
    pe = ph.open_photo(model, photo_file)
    path = ss.save_session(tmp_path / "ref.lsession", pe, STACK, embed_photo=False)
    back, _, mask, _ = ss.load_session(path, model)
    assert mask is None and np.array_equal(back.photo, pe.photo) and back.source.path == photo_file
    photo_file.unlink()
    with pytest.raises(ss.SessionError, match="is gone and the session does not embed it"):
        ss.load_session(path, model)


def test_session_from_pixels_embeds_a_png_and_other_model_reencodes(model, tmp_path):
    from tests.tiny_models import tiny_checkpoint

    pe = ph.open_photo(model, skimage_data.astronaut())
    path = ss.save_session(tmp_path / "pixels.lsession", pe, STACK, embed_photo=False)  # no file: embedded anyway
    other = engine.load_model(str(tiny_checkpoint(tmp_path / "other.safetensors", seed=1)), device=device_under_test())
    back, stack, _, warnings = ss.load_session(path, other)
    assert np.array_equal(back.photo, pe.photo) and stack == STACK
    assert len(warnings) == 1 and "re-encoded" in warnings[0] and not np.array_equal(back.z, pe.z)


def test_service_session_round_trip(tiny_ckpt, photo_file, tmp_path):
    from engine.service import Engine

    e = Engine()
    e.handle(p.LoadModel(source=str(tiny_ckpt)))
    opened = e.handle(p.OpenPhoto(path=str(photo_file)))
    mask = (painted_mask((512, 512)) * 255).astype(np.uint8)
    before = e.handle(p.RenderEdit(edits=STACK, mask=mask, full_resolution=True, whole_photo=True))
    saved = e.handle(p.SaveSession(path=str(tmp_path / "s.lsession"), edits=STACK, mask=mask))
    assert isinstance(saved, p.SessionSaved), getattr(saved, "message", "")
    e.handle(p.OpenPhoto(image=np.zeros((64, 64, 3), np.uint8), detector="centre"))  # something else is open now
    loaded = e.handle(p.LoadSession(path=saved.path))
    assert isinstance(loaded, p.SessionLoaded) and loaded.edits == STACK and loaded.mask.dtype == np.uint8
    after = e.handle(p.RenderEdit(edits=loaded.edits, mask=loaded.mask, full_resolution=True, whole_photo=True))
    assert np.array_equal(after.image, before.image) and np.array_equal(loaded.opened.z, opened.z) and np.array_equal(after.z, before.z)
    refused = e.handle(p.SaveSession(path=str(photo_file)))
    assert isinstance(refused, p.ErrorResponse) and ".lsession" in refused.message


def _rewrite(path, out, **changes):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    for name, data in changes.items():
        members[name.replace("__", ".")] = data
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return out


def test_bad_sessions_get_one_line_errors(model, tmp_path):
    pe = ph.open_photo(model, skimage_data.astronaut())
    good = ss.save_session(tmp_path / "good.lsession", pe, STACK)
    meta = json.loads(zipfile.ZipFile(good).read("session.json"))
    newer = _rewrite(good, tmp_path / "newer.lsession", session__json=json.dumps({**meta, "version": 99}))
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    pickled = _rewrite(good, tmp_path / "pickled.lsession", z__npy=buf.getvalue())
    (tmp_path / "junk.lsession").write_bytes(b"not a zip")
    cases = [
        (newer, "newer than this Latent Studio"),
        (pickled, "latent is unreadable"),
        (tmp_path / "junk.lsession", "not a session file"),
        (tmp_path / "missing.lsession", "no such session file"),
    ]
    for path, message in cases:
        with pytest.raises(ss.SessionError, match=message) as exc:
            ss.load_session(path, model)
        assert len(str(exc.value).splitlines()) == 1
    with pytest.raises(ss.SessionError, match="already exists"):
        ss.save_session(good, pe, STACK, overwrite=False)
