"""The exports of a fitted photo use the fitted photo's own change and mask (the whole aligned crop,
not the face ellipse): the 16-bit export rounds to the 8-bit composite, and the layered file's
Original + Edit is the flat export, with its Mask layer reaching past the ellipse."""

from __future__ import annotations

import zipfile

import numpy as np

import engine
from engine import protocol as p
from engine.devices import thread_budget
from engine.export_16bit import composite_float
from engine.export_layers import export_layers, layer_arrays
from engine.fit import FitConfig, fit_photo
from engine.photo import face_mask, open_photo
from tests.engine.test_export_layers import blend, read_png
from tests.tiny_models import device_under_test


def test_exports_of_a_fitted_photo_follow_its_composite(tiny_ckpt, tmp_path):
    rng = np.random.default_rng(3)
    photo = rng.integers(30, 225, (96, 96, 3)).astype(np.uint8)
    with thread_budget(1):
        model = engine.load_model(str(tiny_ckpt), device=device_under_test())
        fitted, result = fit_photo(open_photo(model, photo, detector="centre"), FitConfig(steps=30, lr=2e-2, locality_pool=8, check_every=5))
        assert result.fitted and fitted.mask_shape == "crop"
        z = fitted.edited_latent(edits=p.EditStack(ops=(p.DimensionStep(dim=0, amount=2.5),)))
        flat = fitted.composite(z)
        deep = composite_float(fitted, z)
        assert np.abs(np.rint(deep).astype(int) - flat).max() <= 1  # the same change, before rounding
        _, alpha, _ = layer_arrays(fitted, z)
        export_layers(fitted, z, tmp_path / "fitted.ora")
    ellipse_corner = face_mask(fitted.alignment.size)[2, 2]
    assert ellipse_corner < 0.01 and alpha[alpha.shape[0] // 8, alpha.shape[1] // 8] > 0.5  # past the ellipse
    with zipfile.ZipFile(tmp_path / "fitted.ora") as zf:
        rgba = read_png(zf, "data/edit.png")
        x0, y0, _, _ = fitted.region
        assert np.abs(blend(photo, rgba, x0, y0).astype(int) - flat).max() <= 1
    assert np.abs(flat.astype(int) - photo).max() > 2
