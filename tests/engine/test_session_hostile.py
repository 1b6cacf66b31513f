"""Hostile sessions: every malformed field, header or member is a one-line SessionError, found
before anything large is allocated; a relative photo path is read beside the session file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format
from PIL import Image

import engine
from engine import photo as ph
from engine import protocol as p
from engine import session as ss
from tests.tiny_models import device_under_test

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def model(tiny_ckpt):
    return engine.load_model(str(tiny_ckpt), device=device_under_test())


@pytest.fixture(scope="module")
def good(model, tmp_path_factory):
    """(members of a valid session with a mask, its session.json as a dict)."""
    pe = ph.open_photo(model, skimage_data.astronaut()[:160, :160], detector="centre")
    mask = np.zeros(pe.photo.shape[:2], np.float32)
    stack = p.EditStack(ops=(p.DimensionStep(dim=1, amount=1.0),))
    path = ss.save_session(tmp_path_factory.mktemp("s") / "good.lsession", pe, stack, mask)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return members, json.loads(members["session.json"])


def _npy_header(descr: str, shape: tuple, body: bytes = b"\0" * 64) -> bytes:
    f = io.BytesIO()
    npy_format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue() + body  # the header writer writes the magic too


def _npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _json(**edits):
    """Change session.json: keys are dotted paths ('face.size'); a value of ... deletes the key."""

    def apply(members, meta):
        for dotted, value in edits.items():
            node, *path = dotted.split("__")
            target = meta
            keys = [node, *path]
            for k in keys[:-1]:
                target = target[int(k)] if isinstance(target, list) else target[k]
            last = keys[-1]
            if isinstance(target, list):
                target[int(last)] = value
            elif value is ...:
                target.pop(last)
            else:
                target[last] = value
        members["session.json"] = json.dumps(meta).encode()

    return apply


def _raw_json(text: str | bytes):
    def apply(members, meta):
        members["session.json"] = text.encode() if isinstance(text, str) else text

    return apply


def _member(name: str, data: bytes):
    def apply(members, meta):
        members[name] = data

    return apply


def _bomb_png() -> bytes:
    """A PNG whose header declares 100000×100000 pixels (a few hundred bytes on disk)."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = (100000).to_bytes(4, "big") * 2  # IHDR width, height (the CRC no longer matches)
    return bytes(data)


HOSTILE = {
    "json nested 100000 deep": (_raw_json("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    "json a list": (_raw_json("[1, 2]"), "not a JSON object"),
    "json not utf-8": (_raw_json(b"\xff\xfe{}"), "not valid JSON"),
    "json integer of 5000 digits": (_raw_json('{"version": ' + "9" * 5000 + "}"), "not valid JSON"),
    "json over 16 MiB": (_raw_json(b" " * (17 * 2**20) + b"{}"), "too large"),
    "version a string": (_json(version="1"), "session version '1' is not valid"),
    "width a list": (_json(photo__width=[1]), "photo.width: must be an integer, got a list of 1"),
    "width astronomical": (_json(photo__width=10**30), "photo.width: must be within"),
    "height null": (_json(photo__height=None), "photo.height: must be an integer, got null"),
    "source a number": (_json(photo__source=5), "photo.source: must be a string"),
    "faces a string": (_json(face__faces="x"), "face.faces: must be a list"),
    "faces empty": (_json(face__faces=[]), "face.faces: must be a list of 1..1000 items"),
    "box with NaN": (_json(face__faces__0__box=[float("nan"), 0, 1, 1]), "face.faces[0].box[0]: must be within"),
    "eye of three numbers": (_json(face__faces__0__left_eye=[1, 2, 3]), "face.faces[0].left_eye: must be a list of 2 items"),
    "score infinite": (_json(face__faces__0__score=float("inf")), "face.faces[0].score: must be within"),
    "method an object": (_json(face__faces__0__method={}), "face.faces[0].method: must be a string"),
    "chosen a float": (_json(face__chosen=0.5), "face.chosen: must be an integer"),
    "chosen past the faces": (_json(face__chosen=7), "no chosen face"),
    "alignment 3x3": (_json(face__alignment=[[1, 0, 0]] * 3), "face.alignment: must be a list of 2 items"),
    "alignment of strings": (_json(face__alignment=[["a", 0, 0], [0, 1, 0]]), "face.alignment[0][0]: must be a number"),
    "crop size 0": (_json(face__size=0), "face.size: must be within 8..4096"),
    "crop size 10**9": (_json(face__size=10**9), "face.size: must be within 8..4096"),
    "model a list": (_json(model=[1]), "model: must be an object"),
    "labels of lists": (_json(labels={"Eyeglasses": [1]}), "labels.Eyeglasses: must be a number"),
    "labels above 1": (_json(labels={"Eyeglasses": 5}), "labels.Eyeglasses: must be within 0..1"),
    "edits a list": (_json(edits=[1]), "edits: must be an object"),
    "edit ops not a list": (_json(edits={"ops": 5}), "damaged session.json"),
    "latent member a list": (_json(latent=["z.npy"]), "latent: must be a string"),
    "latent member missing": (_json(latent="nothing.npy"), "missing nothing.npy"),
    "npy asking for 373 GiB": (_member("z.npy", _npy_header("<f4", (100_000, 1_000_000))), "the latent is unreadable (shape"),
    "npy asking for 373 GiB in 1-D": (_member("z.npy", _npy_header("<f4", (100_000_000_000,))), "the latent is unreadable (shape"),
    "npy with fewer bytes than its shape": (_member("z.npy", _npy_header("<f4", (512,))), "header asks for 2048 bytes, the member holds 64"),
    "npy of objects": (_member("z.npy", _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)), "objects are never unpickled"),
    "npy of float64": (_member("z.npy", _npy(np.zeros(8))), "dtype float64 is not allowed"),
    "npy 2-D latent": (_member("z.npy", _npy(np.zeros((2, 4), np.float32))), "is not 1-dimensional"),
    "npy with NaN": (_member("z.npy", _npy(np.full(8, np.nan, np.float32))), "latent holds NaN"),
    "npy bad magic": (_member("z.npy", b"PK\x03\x04garbage"), "not an .npy array"),
    "npy damaged header": (_member("z.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': <f4}   \n"), "not an .npy array"),
    "mask header 373 GiB": (_member("mask.npy", _npy_header("|u1", (400_000, 1_000_000))), "the mask is unreadable (shape"),
    "mask of int64": (_member("mask.npy", _npy(np.zeros((4, 4), np.int64))), "dtype int64 is not allowed"),
    "mask with inf": (_member("mask.npy", _npy(np.full((4, 4), np.inf, np.float32))), "mask holds NaN"),
    "embedded photo garbage": (_member("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "the embedded photo is unreadable"),
    "embedded photo a bomb": (_member("photo.png", _bomb_png()), "the embedded photo is unreadable"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_session_is_refused_in_one_line(case, good, model, tmp_path):
    members, meta = good
    members, meta = dict(members), json.loads(json.dumps(meta))
    edit, message = HOSTILE[case]
    edit(members, meta)
    path = tmp_path / "bad.lsession"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ss.SessionError) as exc:
        ss.load_session(path, model)
    text = str(exc.value)
    assert message in text and "\n" not in text and text.startswith("bad.lsession: "), text


def test_the_untouched_session_loads(good, model, tmp_path):
    members, _ = good
    path = tmp_path / "ok.lsession"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    pe, stack, mask, warnings = ss.load_session(path, model)
    assert warnings == [] and mask.shape == pe.photo.shape[:2] and len(stack.ops) == 1


def test_relative_source_is_read_beside_the_session(good, model, tmp_path, monkeypatch):
    members, meta = good
    folder = tmp_path / "project"
    folder.mkdir()
    Image.open(io.BytesIO(members["photo.png"])).save(folder / "face.png")
    members = {k: v for k, v in members.items() if k != "photo.png"}
    meta = {**meta, "photo": {**meta["photo"], "source": "face.png", "member": None}}
    members["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(folder / "s.lsession", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "face.png").write_bytes(b"not this one")  # a decoy in the working folder
    monkeypatch.chdir(elsewhere)
    pe, _, _, warnings = ss.load_session(folder / "s.lsession", model)
    assert warnings == [] and pe.photo.shape[:2] == (160, 160)
