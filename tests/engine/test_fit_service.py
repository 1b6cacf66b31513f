"""The per-photo fit through the engine's requests (what the editor sends): slices until done,
renders between slices, Stop keeps a usable state, a replaced photo drops the fit, the weights
come back and RestoreFit gives a restarted engine the same fitted photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine import protocol as p
from engine.devices import thread_budget
from engine.service import Engine
from tests.tiny_models import device_under_test


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    with thread_budget(1):
        yield


@pytest.fixture(scope="module")
def photo():
    """A 96×96 'photo' whose centre square has detail a tiny VAE blurs away."""
    rng = np.random.default_rng(0)
    low = rng.integers(40, 220, (6, 6, 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(low).resize((96, 96), Image.Resampling.BICUBIC)).astype(np.int16)
    img[30:66, 30:66] += rng.integers(-25, 25, (36, 36, 3)).astype(np.int16)
    return img.clip(0, 255).astype(np.uint8)


def ok(response):
    assert not isinstance(response, p.ErrorResponse), response.message
    return response


def opened_engine(tiny_ckpt, photo) -> tuple[Engine, p.PhotoOpened]:
    eng = Engine()
    ok(eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())))
    return eng, ok(eng.handle(p.OpenPhoto(image=photo, detector="centre")))


def run_fit(eng: Engine, steps: int = 40, seconds: float = 0.05, between=None) -> list[p.FitStatus]:
    answers = [ok(eng.handle(p.FitPhoto(start=True, steps=steps, seconds=seconds)))]
    while not answers[-1].done:
        if between is not None:
            between()
        answers.append(ok(eng.handle(p.FitPhoto(seconds=seconds))))
        assert len(answers) < 500
    return answers


def test_fit_in_slices_renders_between_and_ends_fitted(tiny_ckpt, photo):
    eng, opened = opened_engine(tiny_ckpt, photo)
    assert not opened.fitted
    renders = []
    edits = p.EditStack(ops=(p.DimensionStep(dim=0, amount=2.0),))
    answers = run_fit(eng, steps=60, seconds=0.02,
                      between=lambda: renders.append(ok(eng.handle(p.RenderEdit(edits=edits, full_resolution=True)))))
    assert len(answers) > 2 and renders, "the fit took several slices with renders in between"
    steps = [a.step for a in answers]
    assert steps == sorted(steps) and answers[-1].step == 60
    last = answers[-1]
    assert last.done and last.fitted and not last.stopped and last.message == ""
    assert last.psnr_db > last.psnr_before + 1.0
    assert last.opened is not None and last.opened.fitted and last.weights and last.facts["steps"] == 60
    # the open photo now renders with the fitted model: the reconstruction is the fitted one
    assert np.abs(last.opened.reconstruction.astype(int) - opened.reconstruction.astype(int)).mean() > 1.0
    zero = ok(eng.handle(p.RenderEdit(edits=p.EditStack(), full_resolution=True, whole_photo=True)))
    assert np.array_equal(zero.image, photo), "a zero edit is still the original pixels exactly"
    assert np.array_equal(zero.face, last.opened.reconstruction), "renders use the fitted model, request after request"
    again = ok(eng.handle(p.ChooseFace(index=0)))  # the same face chosen again: a fresh, unfitted encoding
    assert not again.fitted
    ok(eng.handle(p.RestoreFit(weights=last.weights, facts=last.facts, z=last.opened.z, labels=last.opened.labels)))
    edited = ok(eng.handle(p.RenderEdit(edits=edits, full_resolution=True, whole_photo=True)))
    assert edited.changed and not np.array_equal(edited.image, photo)
    # a session saved now carries the fit; reopening the photo is unfitted again
    reopened = ok(eng.handle(p.OpenPhoto(image=photo, detector="centre")))
    assert not reopened.fitted


def test_restore_fit_gives_a_new_engine_the_same_fitted_photo(tiny_ckpt, photo):
    eng, _ = opened_engine(tiny_ckpt, photo)
    last = run_fit(eng, steps=30)[-1]
    assert last.fitted
    edits = p.EditStack(ops=(p.DimensionStep(dim=1, amount=-2.0),))
    want = ok(eng.handle(p.RenderEdit(edits=edits, full_resolution=True, whole_photo=True))).image
    fresh, reopened = opened_engine(tiny_ckpt, photo)  # an engine that restarted empty
    assert not reopened.fitted
    restored = ok(fresh.handle(p.RestoreFit(weights=last.weights, facts=last.facts, z=last.opened.z, labels=last.opened.labels)))
    assert restored.fitted
    assert np.array_equal(restored.reconstruction, last.opened.reconstruction)
    got = ok(fresh.handle(p.RenderEdit(edits=edits, full_resolution=True, whole_photo=True))).image
    assert np.array_equal(got, want)


def test_stop_keeps_the_best_so_far_and_the_photo_stays_usable(tiny_ckpt, photo):
    eng, _ = opened_engine(tiny_ckpt, photo)
    first = ok(eng.handle(p.FitPhoto(start=True, steps=2000, seconds=0.05)))
    assert not first.done and 0 < first.step < 2000
    stopped = ok(eng.handle(p.FitPhoto(stop=True)))
    assert stopped.done and stopped.stopped and stopped.step < 2000
    if stopped.fitted:  # best-so-far beat the unfitted model: the photo renders with it
        assert stopped.opened.fitted and stopped.psnr_db > stopped.psnr_before
    zero = ok(eng.handle(p.RenderEdit(edits=p.EditStack(), full_resolution=True, whole_photo=True)))
    assert np.array_equal(zero.image, photo)
    error = eng.handle(p.FitPhoto())
    assert isinstance(error, p.ErrorResponse) and error.message == "no fit is running (start one)"


def test_a_replaced_photo_drops_the_fit_with_a_message(tiny_ckpt, photo):
    eng, _ = opened_engine(tiny_ckpt, photo)
    ok(eng.handle(p.FitPhoto(start=True, steps=2000, seconds=0.02)))
    ok(eng.handle(p.OpenPhoto(image=photo[::-1].copy(), detector="centre")))
    error = eng.handle(p.FitPhoto())
    assert isinstance(error, p.ErrorResponse)
    assert error.message == "the photo changed while it was being fitted; the fit was dropped"
    assert not ok(eng.handle(p.RenderEdit(edits=p.EditStack(), full_resolution=True))).changed


@pytest.mark.parametrize("request_, message", [
    (p.FitPhoto(start=True, steps=0), "steps must be within 1..20000, got 0"),
    (p.FitPhoto(start=True, steps=10, seconds=float("nan")), "seconds must be within (0, 60], got nan"),
    (p.RestoreFit(weights=b"junk", facts={}, z=np.zeros(3, np.float32)), "the fit's pivot must be"),
])
def test_bad_fit_requests_get_one_line(tiny_ckpt, photo, request_, message):
    eng, _ = opened_engine(tiny_ckpt, photo)
    error = eng.handle(request_)
    assert isinstance(error, p.ErrorResponse) and error.message.startswith(message) and "\n" not in error.message


def test_damaged_weights_are_refused_and_the_photo_stays_unfitted(tiny_ckpt, photo):
    eng, opened = opened_engine(tiny_ckpt, photo)
    error = eng.handle(p.RestoreFit(weights=b"not safetensors", facts={}, z=opened.z))
    assert isinstance(error, p.ErrorResponse) and "damaged" in error.message
    assert not ok(eng.handle(p.ChooseFace(index=0))).fitted


def test_fitting_needs_an_open_photo(tiny_ckpt):
    eng = Engine()
    ok(eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())))
    error = eng.handle(p.FitPhoto(start=True))
    assert isinstance(error, p.ErrorResponse) and error.message == "no photo is open"


def test_a_cgan_refines_its_pivot_in_slices_then_fits(photo, tmp_path):
    """A cGAN's inversion refinement is the fit's first work: sliced like the fit, so renders are
    not held up behind all of it; a stop while refining keeps the unfitted model."""
    from tests.engine._conditional import save, tiny_cgan

    path = save(tiny_cgan(steps=5), tmp_path / "cgan.safetensors")
    eng = Engine()
    ok(eng.handle(p.LoadModel(source=str(path), device=device_under_test())))
    ok(eng.handle(p.OpenPhoto(image=photo, detector="centre")))
    first = ok(eng.handle(p.FitPhoto(start=True, steps=20, seconds=0.001)))
    assert not first.done and first.step == 0 and np.isnan(first.psnr_before), "the first slice only refines"
    answers = [first]
    while not answers[-1].done:
        answers.append(ok(eng.handle(p.FitPhoto(seconds=0.001))))
        assert len(answers) < 2000
    refining = [a for a in answers if np.isnan(a.psnr_before)]
    assert len(refining) > 2, "the refinement took several slices"
    assert answers[-1].step == 20 and np.isfinite(answers[-1].psnr_before)
    ok(eng.handle(p.FitPhoto(start=True, steps=20, seconds=0.001)))
    stopped = ok(eng.handle(p.FitPhoto(stop=True)))
    assert stopped.done and stopped.stopped and not stopped.fitted and stopped.step == 0
    assert not ok(eng.handle(p.RenderEdit(edits=p.EditStack(), full_resolution=True))).changed


def test_decode_with_the_photos_model_uses_the_fitted_decoder(tiny_ckpt, photo):
    """Decode(photo=True) — the editor's traversal strips on a photo — decodes with the open
    photo's model: the fitted decoder once fitted; Decode alone keeps the loaded model."""
    eng = Engine()
    ok(eng.handle(p.LoadModel(source=str(tiny_ckpt), device=device_under_test())))
    z = np.zeros((2, eng.model.latent_dim), np.float32)
    error = eng.handle(p.Decode(z=z, photo=True))
    assert isinstance(error, p.ErrorResponse) and error.message == "no photo is open"
    opened = ok(eng.handle(p.OpenPhoto(image=photo, detector="centre")))
    zs = np.stack([opened.z, opened.z + 1.0]).astype(np.float32)
    plain = ok(eng.handle(p.Decode(z=zs))).images
    np.testing.assert_array_equal(ok(eng.handle(p.Decode(z=zs, photo=True))).images, plain)  # not fitted: the same model
    last = run_fit(eng, steps=40)[-1]
    assert last.fitted
    fitted = ok(eng.handle(p.Decode(z=zs, photo=True))).images
    np.testing.assert_array_equal(fitted[0], last.opened.reconstruction)
    assert np.abs(fitted.astype(int) - plain.astype(int)).mean() > 1.0
    np.testing.assert_array_equal(ok(eng.handle(p.Decode(z=zs))).images, plain)
