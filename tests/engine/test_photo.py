"""The real-photo loop on a real photo (astronaut): zero edit is exact, edits stay in the face and
the mask, export keeps the size and EXIF, the edit stack, and the engine's photo requests."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import engine
from engine import photo as ph
from engine.photo_export import export_photo
from engine import protocol as p
from tests.tiny_models import device_under_test

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def astronaut():
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def model(tiny_ckpt):
    return engine.load_model(str(tiny_ckpt), device=device_under_test())


@pytest.fixture(scope="module")
def opened(model, astronaut):
    return ph.open_photo(model, astronaut)


def edit_latent(opened, amount=3.0):
    return opened.edited_latent(edits=p.EditStack(ops=(p.AttributeStep(name="Eyeglasses", amount=amount),)))


def test_zero_edit_gives_back_the_original_pixels_exactly(opened, astronaut):
    full = opened.render(opened.z, full_resolution=True, whole_photo=True)
    assert not full.changed and np.abs(full.image.astype(int) - astronaut).max() == 0
    assert np.array_equal(opened.composite(opened.edited_latent(edits=p.EditStack())), astronaut)
    x0, y0, x1, y1 = opened.region
    region = opened.render(opened.z, full_resolution=True)
    assert region.box == opened.region and np.array_equal(region.image, astronaut[y0:y1, x0:x1])
    dims = opened.edited_latent(edits=p.EditStack(ops=(p.DimensionStep(dim=0, amount=0.0),)))
    assert np.array_equal(opened.composite(dims), astronaut)


def test_an_edit_changes_the_face_and_nothing_outside_the_face_mask(opened, astronaut):
    pytest.importorskip("dlib", reason="without the faces extra the whole photo is the face region")
    out = opened.composite(edit_latent(opened))
    diff = np.abs(out.astype(int) - astronaut).max(-1)
    assert out.shape == astronaut.shape and diff.max() > 10
    x0, y0, x1, y1 = opened.region
    outside = np.ones(diff.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert diff[outside].max() == 0  # nothing outside the face region moves
    # the feathered face mask, mapped into the photo: zero there -> unchanged there
    ys, xs = np.mgrid[y0:y1, x0:x1]
    crop = opened.alignment.to_crop(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1)) / opened.alignment.size
    cx, cy = ph.FACE_MASK_CENTRE
    rx, ry = ph.FACE_MASK_RADII
    rho = np.hypot((crop[:, 0] - cx) / rx, (crop[:, 1] - cy) / ry).reshape(xs.shape)
    local = diff[y0:y1, x0:x1]
    assert local[rho > 1.1].max() == 0  # outside the ellipse (plus the bicubic reach)
    assert local[rho < 0.5].mean() > 2  # the face itself changed
    left_eye = np.round(opened.face.left_eye).astype(int)
    assert diff[left_eye[1] - 3 : left_eye[1] + 3, left_eye[0] - 3 : left_eye[0] + 3].max() > 0


def test_painted_mask_limits_the_edit(opened, astronaut):
    h, w = astronaut.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[:, : w // 2 - 20] = 1.0  # paint the left part of the photo only
    z = edit_latent(opened)
    out = opened.composite(z, mask)
    diff = np.abs(out.astype(int) - astronaut).max(-1)
    assert diff[:, w // 2 - 20 :].max() == 0 and diff[:, : w // 2 - 20].max() > 10
    small = (mask[::4, ::4] * 255).astype(np.uint8)  # a mask at another resolution, as uint8
    out_small = opened.composite(z, small)
    assert np.abs(out_small.astype(int) - astronaut).max(-1)[:, w // 2 - 16 :].max() == 0
    with pytest.raises(ph.PhotoError, match="mask is H×W"):
        opened.composite(z, np.zeros((2, 2, 3), np.float32))



def test_a_full_resolution_render_is_drawn_in_bands_and_abandoned_between_them(opened, monkeypatch):
    """A render nobody waits for any more (the editor's ticket was superseded or cancelled) stops at
    the next band instead of finishing seconds of work; in bands or at once, the same pixels."""
    z = edit_latent(opened)
    mask = np.zeros(opened.size[::-1], np.float32)
    mask[: opened.size[1] // 2] = 1.0
    at_once = opened.render(z, mask, full_resolution=True).image
    monkeypatch.setattr(ph, "BAND_PIXELS", 2000)  # bands of a few rows
    x0, y0, x1, y1 = opened.region
    n = -(-(y1 - y0) // (2000 // (x1 - x0)))
    assert n > 5 and np.array_equal(opened.render(z, mask, full_resolution=True).image, at_once)
    asked: list[bool] = []

    def wanted() -> bool:  # the answer is given up while the third band is drawn
        asked.append(len(asked) < 3)
        return asked[-1]

    with p.answer_wanted(wanted), pytest.raises(p.Abandoned, match="nobody waits"):
        opened.render(z, mask, full_resolution=True)
    assert len(asked) == 4  # checked before each band: three drawn, the fourth not begun
    with p.answer_wanted(lambda: True):
        assert np.array_equal(opened.render(z, mask, full_resolution=True).image, at_once)

def test_preview_is_the_face_region_scaled_and_zero_edit_is_its_original(opened):
    r = opened.render(edit_latent(opened), max_side=64)
    x0, y0, x1, y1 = opened.region
    assert r.box == opened.region and max(r.image.shape[:2]) <= 64 and r.scale == pytest.approx(64 / max(x1 - x0, y1 - y0), rel=0.02)
    zero = opened.render(opened.z, max_side=64)
    assert zero.image.shape == r.image.shape and not zero.changed and np.abs(zero.image.astype(int) - r.image).max() > 0


def test_export_keeps_size_exif_and_never_overwrites(model, astronaut, tmp_path):
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0112] = 6  # stored sideways: the loader turns it upright
    Image.fromarray(astronaut[:, :400]).save(src, exif=exif.tobytes(), quality=95)
    before = src.read_bytes()
    pe = ph.open_photo(model, src, detector="centre")  # the upright photo shows the face lying on its side
    assert pe.size == (512, 400)  # upright: the 400×512 file rotated
    image = pe.composite(edit_latent(pe))
    for name in ("out.png", "out.jpg", "out.webp"):
        info = export_photo(image, tmp_path / name, pe.source)
        with Image.open(tmp_path / name) as im:
            assert im.size == (512, 400) and info["exif_kept"]
            tags = im.getexif()
            assert tags.get(0x010F) == "TestCam" and tags.get(0x0112) == 1
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png").convert("RGB")), image)  # PNG is lossless
    with pytest.raises(ph.PhotoError, match="already exists"):
        export_photo(image, tmp_path / "out.png", pe.source)
    export_photo(image, tmp_path / "out.png", pe.source, overwrite=True)
    with pytest.raises(ph.PhotoError, match="original photo"):
        export_photo(image, src, pe.source, overwrite=True)
    with pytest.raises(ph.PhotoError, match="choose a .png"):
        export_photo(image, tmp_path / "out.gif", pe.source)
    assert src.read_bytes() == before and not list(tmp_path.glob(".*"))  # no temp files left behind


# --------------------------------------------------------------------------- the edit stack


def test_edit_stack_units_match_the_editor_and_semantics(model):
    from engine.semantics.orthogonal import edit_vector

    stats = model.latent_stats
    z = np.random.default_rng(0).standard_normal(model.latent_dim).astype(np.float32)
    stack = p.EditStack().push(p.DimensionStep(dim=2, amount=1.5))
    moved = z.copy()
    moved[2] += 1.5 * stats.std[2]  # a slider at +1.5 moves its dimension by 1.5 σ, as the editor shows it
    assert np.allclose(stack.apply(z, stats.std, model.attributes), moved, atol=1e-6)
    attr = p.EditStack(ops=(p.AttributeStep(name="Smiling", amount=2.0),))
    expected = z + edit_vector(model.attributes["Smiling"], stats.std, 2.0)
    assert np.allclose(attr.apply(z, stats.std, model.attributes), expected, atol=1e-5)
    with pytest.raises(ValueError, match="unknown attribute 'Nope'"):
        p.EditStack(ops=(p.AttributeStep(name="Nope", amount=1.0),)).apply(z, stats.std, model.attributes)


def test_edit_stack_is_a_json_recipe_with_undo():
    d = 4
    stack = p.EditStack().push(
        p.DimensionStep(dim=1, amount=2.0), p.AttributeStep(name="Eyeglasses", amount=-1.0),
        p.Blend(target=(1.0, 2.0, 3.0, 4.0), weight=0.25, label="photo B"), p.AddVector(vector=(0.1,) * d, amount=2.0),
    )  # fmt: skip
    again = p.EditStack.from_json(stack.to_json())
    assert again == stack and len(again) == 4 and again.pop(4).is_empty and again.pop() == p.EditStack(ops=stack.ops[:3])
    z = np.zeros(d, np.float32)
    out = stack.apply(z, np.full(d, 0.5), {"Eyeglasses": np.array([1.0, 0, 0, 0])})
    step1 = np.array([-0.5, 1.0, 0, 0])  # dim 1: +2 × 0.5; Eyeglasses: −1 × σ_u (0.5)
    assert np.allclose(out, 0.75 * step1 + 0.25 * np.array([1, 2, 3, 4]) + 0.2)
    assert np.array_equal(stack.slider_offsets(d), [0, 2, 0, 0])
    for bad, message in [
        ('{"format": "x"}', "not a Latent Studio recipe"),
        ('{"format": "latent-studio/recipe", "version": 99, "ops": []}', "newer"),
        ('{"format": "latent-studio/recipe", "version": 1, "ops": [{"op": "warp"}]}', "unknown op"),
        ('{"format": "latent-studio/recipe", "version": 1, "ops": [{"op": "dim", "dim": 1.5, "amount": 1}]}', "integer"),
        ('{"format": "latent-studio/recipe", "version": 1, "ops": [{"op": "attr", "name": "A", "amount": 1, "x": 2}]}', "unknown field"),
        ("{not json", "not valid JSON"),
    ]:
        with pytest.raises(ValueError, match=message):
            p.EditStack.from_json(bad)


# --------------------------------------------------------------------------- through the engine


def test_engine_photo_requests(tiny_ckpt, astronaut, tmp_path):
    from engine.service import Engine

    e = Engine()
    assert isinstance(e.handle(p.RenderEdit()), p.ErrorResponse)  # no model / no photo: an error value
    e.handle(p.LoadModel(source=str(tiny_ckpt)))
    none = e.handle(p.RenderEdit())
    assert isinstance(none, p.ErrorResponse) and none.message == "no photo is open"
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    opened = e.handle(p.OpenPhoto(path=str(tmp_path / "a.png")))
    assert isinstance(opened, p.PhotoOpened), getattr(opened, "message", "")
    assert opened.photo.shape == astronaut.shape and opened.z.shape == (8,) and opened.aligned.shape == (32, 32, 3)
    assert opened.source.endswith("a.png") and opened.alignment.shape == (2, 3) and opened.faces[opened.chosen].method in ("dlib", "centre")
    zero = e.handle(p.RenderEdit(full_resolution=True, whole_photo=True))
    assert isinstance(zero, p.Rendered) and not zero.changed and np.array_equal(zero.image, astronaut)
    stack = p.EditStack(ops=(p.AttributeStep(name="Eyeglasses", amount=3.0),))
    preview = e.handle(p.RenderEdit(edits=stack, max_side=100, preview=True))
    assert preview.changed and preview.preview and max(preview.image.shape[:2]) <= 100 and preview.box == opened.region
    by_z = e.handle(p.RenderEdit(z=preview.z, max_side=100))
    assert np.array_equal(by_z.image, preview.image)
    both = e.handle(p.RenderEdit(z=preview.z, edits=stack))
    assert isinstance(both, p.ErrorResponse) and "not both" in both.message
    out = e.handle(p.ExportPhoto(path=str(tmp_path / "edited.jpg"), edits=stack))
    assert isinstance(out, p.Exported) and out.size == (512, 512) and Image.open(out.path).size == (512, 512)
    again = e.handle(p.ExportPhoto(path=str(tmp_path / "a.png"), edits=stack, overwrite=True))
    assert isinstance(again, p.ErrorResponse) and "never overwritten" in again.message
    choose = e.handle(p.ChooseFace(index=len(opened.faces)))
    assert isinstance(choose, p.ErrorResponse) and "does not exist" in choose.message
    both_given = e.handle(p.OpenPhoto())
    assert isinstance(both_given, p.ErrorResponse)


def test_bench_open_to_preview_runs_on_a_small_photo(model):
    from engine.bench.photo import bench_open_to_preview

    r = bench_open_to_preview(model, n=2, width=400, height=300, max_side=128)
    assert r["n"] == 2 and r["p50_ms"] > 0 and r["p95_ms"] >= r["p50_ms"] and "0.1 MP" in r["photo"]


def test_conditional_model_decodes_the_photo_with_its_estimated_labels(astronaut, tmp_path):
    from _conditional import NAMES, save, tiny_cgan

    m = engine.load_model(str(save(tiny_cgan(steps=2), tmp_path / "cgan.safetensors")), device=device_under_test())
    pe = ph.open_photo(m, astronaut)
    assert set(pe.labels) == set(NAMES)
    assert np.array_equal(pe.reconstruction, m.decode(pe.z[None], labels=pe.labels)[0])
    assert np.array_equal(pe.composite(pe.z), astronaut)
    z = pe.edited_latent(edits=p.EditStack(ops=(p.DimensionStep(dim=0, amount=3.0),)))
    assert pe.render(z).changed


def test_bench_photo_command(tiny_ckpt, capsys):
    import json

    from engine.cli import main

    assert main(["bench-photo", "--model", str(tiny_ckpt), "-n", "1", "--width", "400", "--height", "300", "--max-side", "128", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["p50_ms"] > 0 and r["app_first_preview"]["first_preview_ms"] > 0
