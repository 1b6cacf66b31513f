"""engine.service.semantics through Engine.handle: the latent-semantics requests of the protocol."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine import protocol as p
from tests.tiny_models import device_under_test


@pytest.fixture
def engine(tiny_ckpt, tmp_path, monkeypatch):
    from engine.service import Engine

    monkeypatch.setenv("LATENT_STUDIO_DATA_DIR", str(tmp_path / "data"))
    e = Engine()
    assert isinstance(e.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())), p.ModelInfo)
    return e


def ok(response, kind):
    assert isinstance(response, kind), getattr(response, "message", response)
    return response


def test_directions_locks_and_scores(engine):
    from engine.semantics.orthogonal import edit_vector, project_out

    model = engine.model
    std = model.latent_stats.std
    raw = ok(engine.handle(p.AttributeDirections()), p.AttributeDirectionSet)
    # the engine's attribute table orders and groups them (Expression before Identity) and says what each measures
    assert raw.names == ("Smiling", "Eyeglasses") and raw.cosines.shape == (2, 2)
    assert [(a.name, a.group) for a in raw.attributes] == [("Smiling", "Expression"), ("Eyeglasses", "Identity")]
    assert "mouth corners" in raw.attributes[0].description and "glasses" in raw.attributes[1].description
    np.testing.assert_allclose(raw.steps["Eyeglasses"], edit_vector(model.attributes["Eyeglasses"], std, 1.0), atol=1e-6)
    locked = ok(engine.handle(p.AttributeDirections(locked=("Smiling",))), p.AttributeDirectionSet)
    d = project_out(model.attributes["Eyeglasses"], [model.attributes["Smiling"]])
    np.testing.assert_allclose(locked.steps["Eyeglasses"], edit_vector(d, std, 1.0), atol=1e-6)
    assert abs(float(locked.steps["Eyeglasses"] @ model.attributes["Smiling"])) < 1e-5
    info = {a.name: a for a in locked.attributes}
    assert info["Eyeglasses"].kept < 1.0 and info["Smiling"].kept == pytest.approx(1.0)
    # the one lock is the one that costs Eyeglasses its length; nothing is locked against Smiling
    assert [n for n, _ in info["Eyeglasses"].lock_costs] == ["Smiling"] and info["Smiling"].lock_costs == ()
    assert info["Eyeglasses"].lock_costs[0][1] == pytest.approx(info["Eyeglasses"].kept, abs=1e-6)
    bad = engine.handle(p.AttributeDirections(locked=("Nope",)))
    assert isinstance(bad, p.ErrorResponse) and "Nope" in bad.message


def test_interpolate_arithmetic_terms_and_exports(engine, tmp_path):
    z = engine.handle(p.Sample(n=6, seed=1)).z
    frames = ok(engine.handle(p.Interpolate(a=p.LatentTerm(latents=z[0]), b=p.LatentTerm(seed=3), steps=5, mode="linear")), p.Interpolated)
    assert frames.frames.shape == (5, 32, 32, 3) and set(frames.smoothness) == {"max_step", "mean_step", "ratio"}
    np.testing.assert_allclose(frames.z[0], z[0], atol=1e-6)
    photo = tmp_path / "face.png"  # at the model's size: used as it is (no face finding)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(photo)
    result = ok(engine.handle(p.Arithmetic(a=p.LatentTerm(paths=(str(photo),)), b=p.LatentTerm(images=(np.asarray(Image.open(photo)),)),
                                           c=p.LatentTerm(latents=z[2:5]), per_item=3)), p.ArithmeticResult)  # fmt: skip
    np.testing.assert_allclose(result.z, z[2:5].mean(0), atol=1e-4)  # A and B are the same photo
    assert result.counts == (1, 1, 3) and result.items.shape == result.edited.shape == (3, 32, 32, 3)
    for term in (p.LatentTerm(), p.LatentTerm(latents=z[0], seed=1), p.LatentTerm(latents=np.zeros(3))):
        assert isinstance(engine.handle(p.Arithmetic(a=term, b=p.LatentTerm(seed=1), c=p.LatentTerm(seed=2))), p.ErrorResponse)

    for fmt, name in (("gif", "a"), ("png-strip", "b"), ("", "c.gif")):
        out = ok(engine.handle(p.ExportAnimation(path=str(tmp_path / name), frames=frames.frames, format=fmt, scale=2)), p.FileWritten)
        assert out.bytes > 0 and out.path.endswith((".gif", ".png"))
    from_z = ok(engine.handle(p.ExportAnimation(path=str(tmp_path / "z.gif"), z=z[:3], boomerang=True)), p.FileWritten)
    assert from_z.frames == 4  # 3 there, 1 back
    again = engine.handle(p.ExportAnimation(path=str(tmp_path / "z.gif"), z=z[:3]))
    assert isinstance(again, p.ErrorResponse) and "exists" in again.message
    assert isinstance(engine.handle(p.ExportAnimation(path=str(tmp_path / "x.gif"), format="mp4", z=z[:2])), p.ErrorResponse)


def test_user_attributes_round_trip(engine, tmp_path):
    z = engine.handle(p.Sample(n=8, seed=2)).z
    saved = ok(engine.handle(p.CreateUserAttribute(name="tilt", with_latents=z[:2], without_latents=z[2:4])), p.UserAttributeSaved)
    assert saved.attribute.same_model is True and "noise" in saved.warning  # 4 examples: warned
    again = engine.handle(p.CreateUserAttribute(name="tilt", with_latents=z[:3], without_latents=z[3:6]))
    assert isinstance(again, p.ErrorResponse) and "exists" in again.message
    ok(engine.handle(p.CreateUserAttribute(name="tilt", with_latents=z[:3], without_latents=z[3:6], overwrite=True)), p.UserAttributeSaved)
    directions = ok(engine.handle(p.AttributeDirections()), p.AttributeDirectionSet)
    assert directions.names == ("Smiling", "Eyeglasses", "tilt")  # a user attribute after the model's, ungrouped
    assert directions.attributes[2].group == directions.attributes[2].description == ""
    group = ok(engine.handle(p.Arithmetic(a=p.LatentTerm(group="tilt=1"), b=p.LatentTerm(group="tilt=-1"), c=p.LatentTerm(seed=0))), p.ArithmeticResult)
    np.testing.assert_allclose(group.terms_z[0] - group.terms_z[1], z[:3].mean(0) - z[3:6].mean(0), atol=1e-5)
    out = tmp_path / "tilt.safetensors"
    ok(engine.handle(p.ExportUserAttribute(name="tilt", path=str(out))), p.FileWritten)
    assert not ok(engine.handle(p.DeleteUserAttribute(name="tilt")), p.UserAttributeList).attributes
    ok(engine.handle(p.ImportUserAttribute(path=str(out), name="tilt2")), p.UserAttributeSaved)
    listed = ok(engine.handle(p.ListUserAttributes()), p.UserAttributeList)
    assert [a.name for a in listed.attributes] == ["tilt2"] and listed.folder.endswith("attributes")


def test_pca_axes_from_the_checkpoint_and_none_without(engine, tiny_ckpt, tmp_path):
    from engine import checkpoint as ckpt_io
    from engine.semantics.pca import pca_directions, store_pca

    empty = ok(engine.handle(p.GetPCAAxes()), p.PCAAxes)  # the tiny checkpoint stores no PCA
    d = engine.model.latent_dim
    assert empty.axes.shape == (0, d) and len(empty.std) == 0 and "latent-studio pca" in empty.note
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((500, d)) * np.linspace(3.0, 0.5, d)  # spread falls with the dimension
    ckpt = ckpt_io.load(tiny_ckpt)
    store_pca(ckpt, pca_directions(mu), data="synthetic")
    path = ckpt_io.save(ckpt, tmp_path / "with-pca.safetensors")
    ok(engine.handle(p.LoadModel(source=str(path), device=device_under_test())), p.ModelInfo)
    axes = ok(engine.handle(p.GetPCAAxes()), p.PCAAxes)
    assert axes.axes.shape == (d, d) and axes.note == "" and axes.n == 500 and axes.data == "synthetic"
    np.testing.assert_allclose(np.linalg.norm(axes.axes, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(axes.std**2, np.var(mu - mu.mean(0), axis=0, ddof=1)[np.argsort(-np.linspace(3.0, 0.5, d))], rtol=0.35)
    assert np.all(np.diff(axes.std) <= 0) and abs(float(axes.explained.sum()) - 1.0) < 1e-5
    assert abs(float(axes.axes[0] @ np.eye(d)[0])) > 0.9  # the largest-spread axis is dimension 0


def test_a_slot_photo_is_aligned_once_for_its_preview_and_every_recompute(tiny_ckpt):
    """Encode (the slot's preview) and each Arithmetic/Interpolate that uses the same image share
    one face detection: an interpolation from the edit recomputes at every slider move."""
    from engine.service import Engine
    from tests.editor.fake_engine import fake_faces

    calls = []
    engine = Engine(face_finder=lambda image, max_faces=16: calls.append(image.shape) or fake_faces(image, max_faces))
    ok(engine.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())), p.ModelInfo)
    rng = np.random.default_rng(3)
    photo, other = (rng.integers(0, 256, (90, 120, 3), dtype=np.uint8) for _ in range(2))
    preview = ok(engine.handle(p.Encode(image=photo, detector="auto")), p.Encoded)
    assert len(calls) == 1
    for seed in (1, 2, 3):  # the other slots change; the photo's slot does not
        result = ok(engine.handle(p.Arithmetic(a=p.LatentTerm(images=(photo,)), b=p.LatentTerm(seed=seed), c=p.LatentTerm(seed=0))),
                    p.ArithmeticResult)
        np.testing.assert_allclose(result.terms_z[0], preview.z.reshape(-1), atol=1e-5)  # the same crop, encoded
    assert len(calls) == 1
    ok(engine.handle(p.Encode(image=other, detector="auto")), p.Encoded)  # another image is looked at
    assert len(calls) == 2
    flat = np.full((90, 120, 3), 7, np.uint8)  # no face: an error every time, nothing remembered
    for _ in range(2):
        assert "no face" in engine.handle(p.Encode(image=flat, detector="auto")).message.lower()
    assert len(calls) == 4
