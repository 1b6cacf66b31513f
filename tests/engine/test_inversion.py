"""Inversion: the encoder's guess, refinement that only reports improvements, cancel, progress; all families."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from _conditional import CLASSES, NAMES, labelled_images, save, tiny_cgan, tiny_cvae

import engine
from engine.inversion import invert, refine
from tests.tiny_models import device_under_test


@pytest.fixture(scope="module")
def cgan_model(tmp_path_factory):
    path = save(tiny_cgan("ns", steps=30), tmp_path_factory.mktemp("inv") / "g.safetensors")
    return engine.load_model(path, device=device_under_test())


def _photo(seed=0, size=32):
    x, _ = labelled_images(1, size, 3, seed=seed)
    return (x[0].permute(1, 2, 0) * 255).round().byte().numpy()


def test_refinement_reports_only_improvements_and_beats_the_encoder(cgan_model):
    seen = []
    best = invert(cgan_model, _photo(1), steps=40, lr=0.05, report_every=2, callback=seen.append)
    assert seen[0].step == 0 and seen[-1] is best and best.done and not best.cancelled
    losses = [r.loss for r in seen[:-1]]
    assert all(b < a for a, b in zip(losses, losses[1:]))  # each report is a better result
    assert best.psnr_db > seen[0].psnr_db and best.step > 0
    assert best.z.shape == (8,) and set(best.labels) == set(NAMES) and best.image.shape == (32, 32, 3)
    assert best.ms_per_step > 0 and best.history[0] == seen[0].psnr_db
    # the encoder's guess is exactly m.encode's latent
    assert np.allclose(seen[0].z, cgan_model.encode(_photo(1))[0], atol=1e-5)


def test_the_refined_latent_decodes_to_the_reported_image(cgan_model):
    best = invert(cgan_model, _photo(2), steps=10)
    again = cgan_model.decode(best.z[None], labels=best.labels)[0]
    assert np.abs(again.astype(int) - best.image).max() <= 2  # labels are rounded to 4 decimals


def test_cancel_stops_early_with_the_best_so_far(cgan_model):
    stop = threading.Event()
    seen = []

    def on_result(r):
        seen.append(r)
        if r.step >= 4:
            stop.set()

    best = invert(cgan_model, _photo(3), steps=10_000, report_every=1, callback=on_result, cancel=stop)
    assert best.done and best.cancelled and best.step < 50
    assert best.loss == min(r.loss for r in seen)
    calls = iter([False, False, True])  # a plain callable works too
    r = invert(cgan_model, _photo(3), steps=100, cancel=lambda: next(calls))
    assert r.cancelled


def test_generator_form_and_encoder_only(cgan_model):
    results = list(refine(cgan_model, _photo(4), steps=0))
    assert len(results) == 2 and results[-1].done and results[0].step == 0
    with pytest.raises(ValueError):
        list(refine(cgan_model, _photo(4), steps=-1))


def test_inversion_into_a_vae_and_a_conditional_vae(tiny_ckpt, tmp_path):
    vae = engine.load_model(tiny_ckpt, device=device_under_test())
    r = invert(vae, _photo(5), steps=30, lr=0.05)
    first = next(refine(vae, _photo(5), steps=0))
    assert r.labels == {} and r.psnr_db >= first.psnr_db
    cvae = engine.load_model(save(tiny_cvae("onehot", steps=30), tmp_path / "c.safetensors", names=CLASSES), device=device_under_test())
    r = invert(cvae, _photo(6, 28), steps=20)
    assert set(r.labels) == set(CLASSES) and abs(sum(r.labels.values()) - 1) < 1e-3 and r.image.shape == (28, 28, 3)


def test_runs_inside_inference_mode_of_a_caller(cgan_model):
    with torch.inference_mode():
        r = invert(cgan_model, _photo(7), steps=5)
    assert r.done and np.isfinite(r.loss)
