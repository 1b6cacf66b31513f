"""End to end: the real engine (engine.service.Engine) on a tiny VAE checkpoint, through the GUI."""

from __future__ import annotations

import numpy as np
import pytest


from tests.editor.conftest import real_engine_window, shown_edit  # noqa: E402

TIMEOUT_MS = 60_000  # the first request imports torch inside the worker thread



@pytest.fixture
def real_window(qtbot, settings, tiny):
    with real_engine_window(qtbot, settings, tiny, TIMEOUT_MS) as window:
        yield window


def test_open_encode_edit_and_reset_with_the_real_engine(qtbot, real_window, photo, tiny):
    window = real_window
    info = window.model.info
    assert info.latent_dim == 8 and info.image_size == 32 and window.latents.rows
    assert window.status.device.text() == "cpu"
    assert window.open_image(photo)  # a gradient, no face: "Use the whole image" edits its centre square
    qtbot.waitUntil(window.faces.banner.isVisible, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.edit.encodedChanged, timeout=TIMEOUT_MS, check_params_cb=lambda e: e is not None):
        window.faces.banner.whole.click()
    reconstruction = window.edit.encoded.reconstruction.copy()
    assert reconstruction.shape == (32, 32, 3) and reconstruction.dtype == np.uint8
    np.testing.assert_array_equal(shown_edit(window), reconstruction)

    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider.setValue(3.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    edited = shown_edit(window).copy()
    assert not np.array_equal(edited, reconstruction), "moving the most informative slider changed no pixel"
    painted = window.canvas.views["edited"]
    qtbot.waitUntil(lambda: painted.frame.tag == window.edit.rendering.request_id, timeout=TIMEOUT_MS)

    # the pixels are the engine's decode of z + 3σ on that dimension
    import engine

    model = engine.load_model(str(tiny), device="cpu")
    z = window.edit.encoded.z.copy()
    z[row.dim] += 3.0 * max(float(info.stats.std[row.dim]), 1e-6)
    np.testing.assert_allclose(model.decode(z[None])[0].astype(int), edited.astype(int), atol=1)

    window.latents.reset_all.click()
    np.testing.assert_array_equal(shown_edit(window), reconstruction)
    assert row.value() == 0.0


def test_sampling_with_the_real_engine(qtbot, real_window):
    window = real_window
    window.samples.count.setValue(4)
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        window.samples.request()
    assert window.sampling.result.images.shape == (4, 32, 32, 3)
    window.samples.grid.itemClicked.emit(window.samples.grid.item(0))
    assert window.latents.isEnabled()
