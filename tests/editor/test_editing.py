"""Live editing in the main window, against the FakeEngine."""

from __future__ import annotations

import numpy as np

from engine.protocol import Decode, RenderEdit
from tests.editor.conftest import TIMEOUT_MS, expected_edit, open_photo, shown_edit


def test_window_opens_on_the_model_with_sliders_ordered_by_information(qtbot, window, fake, photo):
    assert not window.latents.isEnabled()  # nothing to edit yet
    open_photo(qtbot, window, photo)
    info = window.model.info
    panel = window.latents
    order = [int(d) for d in panel.active_dims]
    kl = info.stats.kl
    assert order == sorted(order, key=lambda d: -kl[d])  # most informative first
    assert set(order) == set(np.flatnonzero(info.stats.active))
    assert len(panel.dead_dims) == 2 and set(panel.rows) == set(order)  # dead ones folded (built lazily)
    panel.folded.toggleButton().click()
    assert set(panel.rows) == set(range(info.latent_dim))
    assert "default" in window.status.model.text() and window.status.device.text() == "cpu"


def test_open_encode_shows_crop_reconstruction_and_edit(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    encoded = window.edit.encoded
    views = window.canvas.views
    assert views["photo"].frame.array.shape == (48, 64, 3)
    np.testing.assert_array_equal(views["aligned"].frame.array, encoded.aligned)
    np.testing.assert_array_equal(views["reconstruction"].frame.array, encoded.reconstruction)
    np.testing.assert_array_equal(shown_edit(window), encoded.reconstruction)
    assert window.latents.isEnabled()
    assert "photo.png" in window.windowTitle()


def test_200_rapid_slider_changes_coalesce_and_the_last_values_are_shown(qtbot, window, fake, photo):
    fake.delay = 0.01
    open_photo(qtbot, window, photo)
    rows = [window.latents.rows[int(d)] for d in window.latents.active_dims[:3]]
    fake.decode_count = 0
    rng = np.random.default_rng(1)
    for i in range(200):
        rows[i % 3].slider.setValue(float(rng.uniform(-3, 3)))
        if i % 4 == 0:
            qtbot.wait(1)  # let the event loop run now and then, as during a real drag
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    qtbot.wait(10)
    # coalesced: most of the 200 requests were replaced before the worker took them (quiet
    # machine: ~25 decodes; a loaded 2-core CI machine: up to ~65)
    assert 1 <= fake.decode_count <= 100, fake.decode_count
    assert window.client.counts["replaced"] >= 100
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))
    assert window.canvas.views["edited"].frame.tag == window.edit.rendering.request_id


def test_preview_while_dragging_full_quality_on_release(qtbot, window, fake, photo):
    fake.delay = 0.002
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider._slider.setSliderDown(True)  # what a mouse press on the handle does
    for v in (0.5, 1.0, 1.5):
        row.slider.setValue(v)
        qtbot.wait(5)
    assert window.edit.dragging
    row.slider._slider.setSliderDown(False)
    assert not window.edit.dragging
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    decodes = [r for r in fake.requests if isinstance(r, (Decode, RenderEdit))]  # a photo renders with RenderEdit
    assert decodes[-1].preview is False
    assert any(r.preview for r in decodes[:-1])
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))


def test_reset_one_and_all_and_randomise(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    dims = [int(d) for d in window.latents.active_dims[:2]]
    rows = window.latents.rows
    for d in dims:
        rows[d].slider.setValue(2.0)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    assert not np.array_equal(shown_edit(window), window.edit.encoded.reconstruction)
    window.latents.resetRequested.emit(dims[0])  # per-slider reset button
    assert rows[dims[0]].value() == 0.0 and rows[dims[1]].value() == 2.0
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))
    window.latents.reset_all.click()
    assert all(r.value() == 0.0 for r in rows.values())
    np.testing.assert_array_equal(shown_edit(window), window.edit.encoded.reconstruction)
    window.latents.randomise.click()
    values = np.array([rows[d].value() for d in window.latents.active_dims])
    assert np.any(values != 0) and np.all(np.abs(values) <= 3)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))


def test_numeric_entry_sets_the_slider(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    label = row.slider._label
    label.setText("1.25")
    label.editingFinished.emit()
    assert row.value() == 1.25
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))


def test_filter_box_narrows_the_sliders(qtbot, window):
    panel = window.latents
    dim = int(panel.active_dims[0])
    panel.filter.setText(f"z{dim}")
    qtbot.waitUntil(lambda: not any(r.isVisibleTo(panel) for d, r in panel.rows.items() if d != dim), timeout=2000)
    assert panel.rows[dim].isVisibleTo(panel)
    panel.filter.clear()
    qtbot.waitUntil(lambda: all(r.isVisibleTo(panel) for r in panel.rows.values()), timeout=2000)


def test_traversal_strip_is_one_batched_decode(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    dim = int(window.latents.active_dims[0])
    before = len(fake.requests)
    with qtbot.waitSignal(window.edit.traversalReady, timeout=TIMEOUT_MS):
        window.latents.traversalRequested.emit(dim)
    new = [r for r in fake.requests[before:] if isinstance(r, Decode)]
    assert len(new) == 1 and new[0].z.shape == (7, window.model.info.latent_dim)
    strip = window.traversal
    assert strip.isVisibleTo(window) and sum(b.isVisibleTo(strip) for b in strip.buttons) == 7
    strip.buttons[-1].click()  # +3σ
    assert window.latents.rows[dim].value() == 3.0
    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))
    strip.close_strip()
    assert window.edit.traversal_dim is None


def test_engine_error_is_shown_and_the_next_edit_works(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    fake.fail_next = RuntimeError("decoder exploded")
    row.slider.setValue(1.0)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=TIMEOUT_MS)
    assert "decoder exploded" in window.banner.text() and window.banner.kind == "error"
    row.slider.setValue(-1.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))


def test_error_response_is_shown_non_modally(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    fake.error_next = "CUDA out of memory"
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(0.5)
    qtbot.waitUntil(lambda: "CUDA out of memory" in window.banner.text(), timeout=TIMEOUT_MS)
    assert window.isEnabled() and window.latents.isEnabled()
    assert "CUDA out of memory" in window.statusBar().currentMessage()


def test_worker_crash_mid_edit_recovers(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    fake.crash_next = True
    with qtbot.waitSignal(window.client.workerRestarted, timeout=TIMEOUT_MS):
        row.slider.setValue(1.0)
    assert window.banner.isVisible()
    row.slider.setValue(2.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))


def test_status_bar_reports_decode_time_and_fps(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    for v in (0.5, 1.0, 1.5, 2.0):
        row.slider.setValue(v)
        qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "ms" in window.status.perf.text() and "–" not in window.status.perf.text(), timeout=2000)
    assert window.status.decode_ms is not None
