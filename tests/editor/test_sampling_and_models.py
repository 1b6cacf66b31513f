"""Sampling mode and the model chooser."""

from __future__ import annotations

import numpy as np
import pytest

from engine.protocol import Sample
from editor.imaging import read_image
from tests.editor.conftest import TIMEOUT_MS, expected_edit, open_photo, shown_edit


def test_sample_tab_fills_itself_on_first_look(qtbot, window):
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(window.samples)
    assert window.samples.grid.count() == 16


def test_sampling_grid_pick_one_to_edit_and_save(qtbot, window, fake, tmp_path):
    panel = window.samples
    panel.count.setValue(9)
    panel.seed.setValue(5)
    panel.temperature.setValue(0.7)
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        panel.sample_button.click()
    request = [r for r in fake.requests if isinstance(r, Sample)][-1]
    assert (request.n, request.seed, request.temperature) == (9, 5, 0.7)
    assert panel.grid.count() == 9
    result = window.sampling.result

    item = panel.grid.item(4)
    panel.grid.itemClicked.emit(item)
    assert window.tabs.currentWidget() is window.canvas
    np.testing.assert_array_equal(window.canvas.views["photo"].frame.array, result.images[4])
    np.testing.assert_array_equal(window.edit.encoded.z, result.z[4])
    assert window.latents.isEnabled() and window.edit.path is None
    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider.setValue(1.5)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))

    out = panel.save_grid(tmp_path / "grid.png")
    grid, _ = read_image(out)
    s = window.model.info.image_size
    assert grid.shape == (3 * s + 4 * 2, 3 * s + 4 * 2, 3)
    np.testing.assert_array_equal(grid[2 : 2 + s, 2 : 2 + s], result.images[0])


def test_same_seed_same_grid_and_next_seed_differs(qtbot, window):
    panel = window.samples
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        panel.request()
    first = window.sampling.result.images.copy()
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        panel.request()
    np.testing.assert_array_equal(window.sampling.result.images, first)
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        panel.next_button.click()
    assert panel.seed.value() == 1
    assert not np.array_equal(window.sampling.result.images, first)


def test_choosing_a_model_with_another_latent_size_rebuilds_the_panels(qtbot, window, fake, photo):
    open_photo(qtbot, window, photo)
    assert len(window.latents.rows) == 6  # 8 dims, 2 dead
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.chooser.choose("wide")  # FakeEngine: 12 dims, 24 px
    info = window.model.info
    assert info.latent_dim == 12
    assert len(window.latents.rows) == 10 and len(window.latents.dead_dims) == 2
    # the open photo is encoded again in the new latent space
    qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=TIMEOUT_MS)
    assert window.edit.encoded.z.shape == (12,)
    assert window.canvas.views["reconstruction"].frame.array.shape == (24, 24, 3)
    row = window.latents.rows[int(window.latents.active_dims[-1])]
    row.slider.setValue(-2.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))
    assert "wide" in window.status.model.text()
    assert window.chooser.combo.currentData() == "wide" and window.chooser.combo.currentText().startswith("wide")


def test_a_bad_checkpoint_is_reported_and_the_old_model_stays(qtbot, window, fake, photo, tmp_path):
    open_photo(qtbot, window, photo)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(window.model.failed, timeout=TIMEOUT_MS):
        window.chooser.choose(str(bad))
    assert "broken.safetensors" in window.banner.text() and "not a readable safetensors file" in window.banner.text()
    assert window.model.info.name == "default"
    assert window.chooser.combo.currentData() == "default"
    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider.setValue(1.0)
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)


def test_model_switch_clears_the_sample_grid(qtbot, window):
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        window.samples.request()
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("wide")
    assert window.samples.grid.count() == 0 and window.sampling.result is None


@pytest.mark.slow
def test_a_wide_latent_builds_its_sliders_without_blocking(qtbot, window, fake):
    fake.add_model("huge", 100, 16)
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("huge")
    panel = window.latents
    assert 0 < len(panel.rows) < 98  # the first rows at once, the rest on later event-loop turns
    qtbot.waitUntil(lambda: len(panel.rows) == 98, timeout=TIMEOUT_MS)
    box = panel._box
    shown = [box.itemAt(i).widget().dim for i in range(box.count()) if hasattr(box.itemAt(i).widget(), "dim")]
    assert shown == [int(d) for d in panel.active_dims]  # still ordered by information
