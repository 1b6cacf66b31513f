"""The engine's conditional-model requests (issue 6, GUI side): ModelInfo's label facts, label
estimates in Encoded/PhotoOpened, RenderEdit/ExportPhoto with labels, the Realism gauge, Refine
chunks and the bundled-model list — on tiny cVAE/cGAN checkpoints through ``Engine.handle``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _conditional import NAMES, labelled_images, save, tiny_cgan, tiny_cvae

from engine import protocol as p
from engine.data.datasets import ImageSet
from engine.likelihood import calibrate
from engine.service import Engine
from tests.tiny_models import device_under_test


@pytest.fixture(scope="module")
def cvae_path(tmp_path_factory):
    """A tiny multi-label cVAE (32 px RGB) with a realism calibration on held-out images."""
    torch.set_num_threads(1)
    net = tiny_cvae("multi", steps=80, size=32, channels=3)
    x, y = labelled_images(64, 32, 3, seed=5)
    cal = calibrate(net, "cvae", ImageSet((x * 255).round().byte()), y, k=4)["realism"]
    return save(net, tmp_path_factory.mktemp("cvae") / "cvae.safetensors", info={"description": "tiny", "realism": cal.to_dict()})


@pytest.fixture
def eng(cvae_path):
    e = Engine()
    info = e.handle(p.LoadModel(source=str(cvae_path), device=device_under_test()))
    assert isinstance(info, p.ModelInfo), getattr(info, "message", info)
    return e


def _photo(seed: int = 0) -> np.ndarray:
    x, _ = labelled_images(1, 48, 3, seed=seed)
    return (x[0].permute(1, 2, 0) * 255).round().byte().numpy()


def test_model_info_names_the_label_mode_prior_and_calibration(eng):
    info = eng.handle(p.GetLatentStats())
    assert info.conditional and info.labels == NAMES and info.label_mode == "multi"
    assert len(info.label_prior) == 2 and all(0 < v < 1 for v in info.label_prior)
    assert info.realism is not None and info.realism.score == "iwae_loglik_bpd" and "bits/dim" in info.realism.units
    assert info.realism.n == 64


def test_encoded_and_photo_opened_carry_the_label_estimate(eng):
    enc = eng.handle(p.Encode(image=_photo()))
    assert isinstance(enc, p.Encoded) and set(enc.labels) == set(NAMES)
    assert all(0.0 <= v <= 1.0 for v in enc.labels.values())
    opened = eng.handle(p.OpenPhoto(image=_photo(), detector="centre"))
    assert isinstance(opened, p.PhotoOpened) and set(opened.labels) == set(NAMES)


def test_render_edit_with_labels_changes_the_face_and_the_estimate_is_the_zero_edit(eng):
    opened = eng.handle(p.OpenPhoto(image=_photo(), detector="centre"))
    same = eng.handle(p.RenderEdit(labels=dict(opened.labels), full_resolution=True, whole_photo=True))
    assert isinstance(same, p.Rendered) and not same.changed and np.array_equal(same.image, opened.photo)
    flipped = {k: 1.0 - round(v) for k, v in opened.labels.items()}
    other = eng.handle(p.RenderEdit(labels=flipped, full_resolution=True, whole_photo=True))
    assert other.changed and np.abs(other.image.astype(int) - opened.photo.astype(int)).sum() > 0
    bad = eng.handle(p.RenderEdit(labels={"Nope": 1.0}))
    assert isinstance(bad, p.ErrorResponse) and "unknown label" in bad.message


def test_export_photo_keeps_the_label_edit(eng, tmp_path):
    opened = eng.handle(p.OpenPhoto(image=_photo(), detector="centre"))
    flipped = {k: 1.0 - round(v) for k, v in opened.labels.items()}
    rendered = eng.handle(p.RenderEdit(labels=flipped, full_resolution=True, whole_photo=True))
    out = eng.handle(p.ExportPhoto(path=str(tmp_path / "x.png"), labels=flipped))
    assert isinstance(out, p.Exported), getattr(out, "message", out)
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out.path).convert("RGB")), rendered.image)


def test_realism_of_a_latent_falls_when_the_edit_leaves_the_data(eng):
    z = np.zeros(4, np.float32)
    near = eng.handle(p.Realism(z=z, labels={"Bright": 1.0}, k=4))
    far = eng.handle(p.Realism(z=z + 12.0, labels={"Bright": 1.0}, k=4))
    assert isinstance(near, p.RealismScore) and near.calibrated
    assert far.score[0] < near.score[0] and far.percentile[0] < near.percentile[0]
    assert 0.0 <= far.percentile[0] <= 100.0 and set(near.details) == {"elbo_bpd", "iwae_bpd"}
    assert near.score[0] == pytest.approx(-near.details["iwae_bpd"][0])
    again = eng.handle(p.Realism(z=z, labels={"Bright": 1.0}, k=4))
    assert again.score[0] == near.score[0]  # seeded: the gauge does not flicker


def test_realism_of_images_and_noise(eng):
    x, y = labelled_images(4, 32, 3, seed=9)
    images = (x.permute(0, 2, 3, 1) * 255).round().byte().numpy()
    good = eng.handle(p.Realism(images=images, k=4))
    noise = eng.handle(p.Realism(images=np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), k=4))
    assert good.score.shape == (4,) and good.plausible.all()
    assert (noise.percentile == 0).all() and not noise.plausible.any()


def test_realism_bad_requests_are_one_line_errors(eng):
    for req in (p.Realism(), p.Realism(z=np.zeros(4, np.float32), images=_photo()), p.Realism(z=np.zeros(3, np.float32)),
                p.Realism(z=np.zeros(4, np.float32), k=0), p.Realism(z=np.zeros(4, np.float32), labels={"Bright": 2.0})):
        r = eng.handle(req)
        assert isinstance(r, p.ErrorResponse) and r.message and "\n" not in r.message


def test_uncalibrated_vae_gauge_reports_no_percentile(tiny_ckpt):
    e = Engine()
    info = e.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test()))
    assert not info.conditional and info.label_mode == "" and info.realism is None
    r = e.handle(p.Realism(z=np.zeros(info.latent_dim, np.float32), k=2))
    assert not r.calibrated and np.isnan(r.percentile[0]) and r.plausible[0]
    assert isinstance(e.handle(p.Realism(z=np.zeros(info.latent_dim, np.float32), labels={"Bright": 1.0})), p.ErrorResponse)


def test_cgan_realism_is_the_discriminator_logit(tmp_path):
    net = tiny_cgan("ns", steps=3)
    e = Engine()
    info = e.handle(p.LoadModel(source=str(save(net, tmp_path / "g.safetensors")), device="cpu"))
    assert info.family == "cgan" and info.label_mode == "multi" and info.realism is None
    x, _ = labelled_images(2, 32, 3, seed=1)
    images = (x.permute(0, 2, 3, 1) * 255).round().byte().numpy()
    r = e.handle(p.Realism(images=images, labels={"Red": 1.0}))
    with torch.no_grad():
        xt = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
        y = torch.tensor([[info.label_prior[0], 1.0]]).expand(2, -1)
        expected = net.discriminate(xt, y).numpy()
    assert "discriminator" in r.units and np.allclose(r.score, expected, atol=1e-4)
    assert np.allclose(r.details["d_logit"], r.score)


def test_refine_chunks_improve_the_inversion_of_the_open_photo(eng):
    opened = eng.handle(p.OpenPhoto(image=_photo(3), detector="centre"))
    a = eng.handle(p.Refine(steps=8))
    assert isinstance(a, p.Refined), getattr(a, "message", a)
    assert a.loss <= a.start_loss and a.z.shape == (4,) and set(a.labels) == set(NAMES) and a.image.shape == (32, 32, 3)
    b = eng.handle(p.Refine(steps=8, z=a.z, labels=a.labels))  # the next chunk starts where the last ended
    assert b.start_loss == pytest.approx(a.loss, rel=1e-3) and b.start_psnr_db == pytest.approx(a.psnr_db, abs=0.05)
    assert b.loss <= b.start_loss
    c = eng.handle(p.Refine(image=opened.aligned, steps=2))
    assert isinstance(c, p.Refined)
    for bad in (p.Refine(steps=0), p.Refine(z=np.zeros(2, np.float32)), p.Refine(image=np.zeros((4, 4), np.uint8))):
        assert isinstance(eng.handle(bad), p.ErrorResponse)


def test_refine_adopted_becomes_the_photos_latent_and_the_zero_edit_stays_exact(eng):
    opened = eng.handle(p.OpenPhoto(image=_photo(4), detector="centre"))
    a = eng.handle(p.Refine(steps=10, adopt=True))
    assert isinstance(a, p.Refined) and a.loss < a.start_loss and a.opened is not None
    assert np.array_equal(a.opened.z, a.z) and a.opened.labels == pytest.approx(a.labels, abs=1e-4)
    assert np.array_equal(a.opened.photo, opened.photo) and a.opened.region == opened.region
    zero = eng.handle(p.RenderEdit(full_resolution=True, whole_photo=True))
    assert not zero.changed and np.array_equal(zero.image, opened.photo)  # still the original pixels exactly
    edit = p.EditStack(ops=(p.DimensionStep(dim=0, amount=2.0),))
    moved = eng.handle(p.RenderEdit(edits=edit, full_resolution=True, whole_photo=True))
    assert moved.changed and np.allclose(moved.z, a.z + np.array([2.0, 0, 0, 0], np.float32))  # edits start from the adopted latent
    b = eng.handle(p.Refine(steps=10, adopt=True))  # the next chunk starts where the photo now is
    assert b.start_loss == pytest.approx(a.loss, rel=1e-3) and b.start_psnr_db == pytest.approx(a.psnr_db, abs=0.05)
    assert isinstance(eng.handle(p.Refine(image=_photo(4), adopt=True)), p.ErrorResponse)


def test_refine_without_an_open_photo_is_an_error(eng):
    r = eng.handle(p.Refine(steps=2))
    assert isinstance(r, p.ErrorResponse) and "no photo" in r.message


def test_bundled_models_are_listed_with_their_family_and_load_by_name():
    e = Engine()
    listed = e.handle(p.ListModels())
    assert isinstance(listed, p.ModelList)
    by_name = {m.name: m for m in listed.models}
    assert listed.models[0].source == "default" and by_name["default-faces-vae64"].family == "vae"
    if "fashion-cvae28" in by_name:
        entry = by_name["fashion-cvae28"]
        assert entry.family == "cvae" and len(entry.labels) == 10 and entry.source == "fashion-cvae28"
        info = e.handle(p.LoadModel(source=entry.source, device="cpu"))
        assert isinstance(info, p.ModelInfo) and info.label_mode == "onehot" and info.image_size == 28
    missing = e.handle(p.LoadModel(source="no-such-bundled-model"))
    assert isinstance(missing, p.ErrorResponse)


def test_a_session_keeps_the_edit_labels(eng, tmp_path):
    opened = eng.handle(p.OpenPhoto(image=_photo(6), detector="centre"))
    flipped = {k: 1.0 - round(v) for k, v in opened.labels.items()}
    saved = eng.handle(p.SaveSession(path=str(tmp_path / "s.lsession"), labels=flipped))
    assert isinstance(saved, p.SessionSaved), getattr(saved, "message", saved)
    plain = eng.handle(p.SaveSession(path=str(tmp_path / "plain.lsession")))
    assert isinstance(plain, p.SessionSaved)
    loaded = eng.handle(p.LoadSession(path=str(tmp_path / "s.lsession")))
    assert isinstance(loaded, p.SessionLoaded) and loaded.labels == flipped and loaded.opened.labels == opened.labels
    assert eng.handle(p.LoadSession(path=str(tmp_path / "plain.lsession"))).labels is None
    bad = eng.handle(p.SaveSession(path=str(tmp_path / "bad.lsession"), labels={"Nope": 1.0}))
    assert isinstance(bad, p.ErrorResponse) and "labels" in bad.message and not (tmp_path / "bad.lsession").exists()


def test_an_adopted_latent_given_to_a_fresh_engine_renders_as_the_refined_photo_did(eng, cvae_path):
    opened = eng.handle(p.OpenPhoto(image=_photo(4), detector="centre"))
    refined = eng.handle(p.Refine(steps=10, adopt=True))
    assert refined.opened is not None
    edit = p.EditStack(ops=(p.DimensionStep(dim=1, amount=1.5),))
    before = eng.handle(p.RenderEdit(edits=edit, full_resolution=True, whole_photo=True))

    fresh = Engine()  # what a worker restart gives: the model, the photo, then the adopted latent
    fresh.handle(p.LoadModel(source=str(cvae_path), device=device_under_test()))
    fresh.handle(p.OpenPhoto(image=_photo(4), detector="centre"))
    back = fresh.handle(p.AdoptLatent(z=refined.opened.z, labels=dict(refined.opened.labels)))
    assert isinstance(back, p.PhotoOpened), getattr(back, "message", back)
    np.testing.assert_array_equal(back.z, refined.opened.z)
    assert not np.array_equal(back.z, opened.z)
    after = fresh.handle(p.RenderEdit(edits=edit, full_resolution=True, whole_photo=True))
    np.testing.assert_array_equal(after.image, before.image)
    assert "4 finite numbers" in fresh.handle(p.AdoptLatent(z=np.zeros(3, np.float32))).message
    empty = Engine()
    empty.handle(p.LoadModel(source=str(cvae_path), device=device_under_test()))
    assert "no photo" in empty.handle(p.AdoptLatent(z=np.zeros(4, np.float32))).message
