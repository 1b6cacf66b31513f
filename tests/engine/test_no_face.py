"""Photos without a face are refused (never edited on their centre square behind the user's back),
a face the user marks becomes the face, and term images are aligned like opened photos."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from engine import protocol as p
from engine.data import align

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(not align.dlib_available(), reason="dlib is a core dependency; this venv lacks it")


def no_face_images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "noise": rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "flat": np.full((200, 300, 3), (90, 140, 200), np.uint8),
        "coffee": skimage_data.coffee(),
        "cat": skimage_data.chelsea(),
    }


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


@pytest.fixture
def engine(tiny_ckpt):
    from engine.service import Engine

    e = Engine()
    assert isinstance(e.handle(p.LoadModel(source=str(tiny_ckpt), device="cpu")), p.ModelInfo)
    return e


def off_centre(face_photo: np.ndarray, width: int = 1400) -> np.ndarray:
    """The photo at the left end of a wide grey canvas: its centre square holds no face."""
    h, w = face_photo.shape[:2]
    canvas = np.full((h, width, 3), 128, np.uint8)
    canvas[:, :w] = face_photo
    return canvas


@pytest.mark.parametrize("name", ["noise", "flat", "coffee", "cat"])
def test_a_photo_without_a_face_is_refused_with_one_line(name):
    image = no_face_images()[name]
    assert align.detect_faces(image) == []
    with pytest.raises(align.NoFaceError) as err:
        align.find_faces(image, name=f"{name}.jpg")
    assert str(err.value) == f"no face found in {name}.jpg (--detector centre edits the centre square)"
    assert align.find_faces(image, detector="centre")[0].method == "centre"  # only when asked for


def test_auto_without_dlib_is_an_error_not_a_centre_crop(monkeypatch, astronaut):
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(align.FaceFinderMissing, match="the face finder cannot start: .*--detector centre"):
        align.detect_faces(astronaut)
    assert align.detect_faces(astronaut, detector="centre")[0].method == "centre"


def test_a_marked_square_finds_the_eyes_inside_it(astronaut):
    found = align.find_faces(astronaut)[0]
    x0, y0, x1, y1 = found.box
    side, cx, cy = 1.5 * (x1 - x0), (x0 + x1) / 2 + 10, (y0 + y1) / 2 - 15  # looser and off-centre, as a person drags
    marked = align.face_from_box(astronaut, (cx + side / 2, cy + side / 2, cx - side / 2, cy - side / 2))  # any corner order
    assert marked.method == "manual" and marked.box[2] - marked.box[0] == pytest.approx(side)
    assert np.hypot(*np.subtract(marked.left_eye, found.left_eye)) < 3 and np.hypot(*np.subtract(marked.right_eye, found.right_eye)) < 3


def test_a_marked_square_without_landmarks_places_the_eyes_canonically(monkeypatch):
    flat = no_face_images()["flat"]
    with_dlib = align.face_from_box(flat, (100, 50, 200, 150))  # featureless: dlib's mean shape, inside the box
    assert with_dlib.method == "manual" and 100 < with_dlib.left_eye[0] < with_dlib.right_eye[0] < 200
    monkeypatch.setitem(sys.modules, "dlib", None)
    marked = align.face_from_box(flat, (100, 50, 200, 150))
    assert marked.method == "manual"
    assert marked.left_eye == pytest.approx((150 - 18, 90)) and marked.right_eye == pytest.approx((150 + 18, 90))
    for bad, message in (((10, 10, 12, 12), "too small"), ((900, 900, 1000, 1000), "outside the photo"), ((0, 0, "x", 1), "four numbers")):
        with pytest.raises(align.AlignmentError, match=message):
            align.face_from_box(flat, bad)


def test_engine_open_no_face_then_whole_image_or_marked_face(engine, tmp_path):
    from PIL import Image

    cat = no_face_images()["cat"]
    path = tmp_path / "cat.png"
    Image.fromarray(cat).save(path)
    refused = engine.handle(p.OpenPhoto(path=str(path)))
    assert isinstance(refused, p.ErrorResponse) and refused.kind == "NoFaceError"
    assert refused.message == f"no face found in {path} (--detector centre edits the centre square)"
    assert engine.handle(p.RenderEdit()).message == "no photo is open"  # nothing was opened behind the user's back

    whole = engine.handle(p.OpenPhoto(path=str(path), detector="centre"))
    assert isinstance(whole, p.PhotoOpened) and whole.faces[0].method == "centre"
    box = (150.0, 40.0, 290.0, 180.0)  # the cat's head
    marked = engine.handle(p.OpenPhoto(path=str(path), face_box=box))
    assert isinstance(marked, p.PhotoOpened) and [f.method for f in marked.faces] == ["manual"]
    x0, y0, x1, y1 = marked.region
    assert x0 < 220 < x1 and y0 < 110 < y1 and not np.array_equal(marked.z, whole.z)
    stack = p.EditStack(ops=(p.DimensionStep(dim=0, amount=3.0),))
    r = engine.handle(p.RenderEdit(edits=stack, full_resolution=True, whole_photo=True))
    changed = np.abs(r.image.astype(int) - cat).max(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert r.changed and changed.any() and xs.min() >= x0 and xs.max() < x1 and ys.min() >= y0 and ys.max() < y1


def test_choose_face_from_a_box_adds_the_marked_face_and_replaces_an_earlier_one(engine, astronaut):
    opened = engine.handle(p.OpenPhoto(image=astronaut))
    detected = [f.method for f in opened.faces]
    assert detected[0] == "dlib"
    first = engine.handle(p.ChooseFace(face_box=(300.0, 250.0, 420.0, 370.0)))  # "the detector picked the wrong face"
    assert [f.method for f in first.faces] == detected + ["manual"] and first.chosen == len(detected)
    again = engine.handle(p.ChooseFace(face_box=(170.0, 70.0, 280.0, 180.0)))
    assert [f.method for f in again.faces] == detected + ["manual"] and again.faces[-1].box[0] == pytest.approx(170.0)
    assert not np.array_equal(first.z, again.z)
    back = engine.handle(p.ChooseFace(index=0))
    np.testing.assert_allclose(back.z, opened.z, atol=1e-6)


def test_term_images_are_aligned_like_photos(engine, astronaut):
    model = engine.model
    big = off_centre(astronaut)
    term_z = lambda response: response.z[0]  # noqa: E731  (linear interpolation starts at term A's mean)
    got = engine.handle(p.Interpolate(a=p.LatentTerm(images=(big,), label="big.jpg"), b=p.LatentTerm(seed=1), steps=2, mode="linear"))
    assert isinstance(got, p.Interpolated), getattr(got, "message", "")
    aligned = align.align_face(big, model.image_size).crop
    np.testing.assert_allclose(term_z(got), model.encode(aligned)[0], atol=1e-5)
    assert np.abs(term_z(got) - model.encode(big)[0]).max() > 0.05  # not the centre square (grey canvas)
    crop = np.ascontiguousarray(big[:32, :32])  # at the model's size: used as it is
    same = engine.handle(p.Interpolate(a=p.LatentTerm(images=(crop,)), b=p.LatentTerm(seed=1), steps=2, mode="linear"))
    np.testing.assert_allclose(term_z(same), model.encode(crop)[0], atol=1e-5)
    refused = engine.handle(p.Arithmetic(a=p.LatentTerm(images=(no_face_images()["coffee"],), label="coffee.png"),
                                         b=p.LatentTerm(seed=1), c=p.LatentTerm(seed=2)))  # fmt: skip
    assert refused.kind == "NoFaceError" and refused.message.startswith("no face found in coffee.png (crop it to the face")
    encoded = engine.handle(p.Encode(image=big, detector="auto", name="big.jpg"))  # the user-attribute examples' path
    np.testing.assert_allclose(encoded.z, model.encode(aligned)[0], atol=1e-5)
    as_given = engine.handle(p.Encode(image=big))
    np.testing.assert_allclose(as_given.z, model.encode(big)[0], atol=1e-5)
