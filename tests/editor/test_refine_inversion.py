"""Edit ▸ Refine inversion (issue 6): Refine chunks run one after the other in the background,
each better latent becomes the photo's (the edit is kept and re-rendered from it, the zero edit is
still the original photo exactly), progress is reported, and it stops when asked."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tests.tiny_models")

from engine import protocol as p  # noqa: E402
from tests.editor._conditional_models import REAL_TIMEOUT_MS, multi_cvae, real  # noqa: E402,F401 - fixtures
from tests.editor._photo import move_slider, open_photo_file, wait_rendered  # noqa: E402


def test_refining_improves_the_photos_latent_and_keeps_the_edit(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    original = open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    z0 = window.edit.encoded.z.copy()
    dim = move_slider(window, 0, 1.5)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    stack = window.edit.stack
    progress = []
    ui.refine.progress.connect(progress.append)
    with qtbot.waitSignal(ui.refine.finished, timeout=REAL_TIMEOUT_MS) as done:
        assert ui.refine.start(chunks=3, steps=8)
        assert ui.stop_refine_action.isEnabled() and not ui.refine_action.isEnabled()
    refines = real.engine.of(p.Refine)
    assert len(refines) == 3 and all(r.adopt and r.steps == 8 for r in refines) and len(progress) == 3
    last = ui.refine.last
    assert last.loss < ui.refine.start_loss and "PSNR" in done.args[0] and "→" in done.args[0]
    assert not ui.refine.running and ui.refine_action.isEnabled()
    np.testing.assert_array_equal(window.edit.encoded.z, window.photo.current.z)
    assert not np.array_equal(window.edit.encoded.z, z0), "no refined latent was adopted"
    replayed = window.edit.document.replay()[-1]  # what a restarted engine is given back: the refined latent
    assert isinstance(replayed, p.AdoptLatent)
    np.testing.assert_array_equal(replayed.z, window.edit.encoded.z)
    assert window.edit.stack == stack and window.latents.rows[dim].value() == pytest.approx(1.5)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    sent = real.engine.of(p.RenderEdit)[-1]
    assert sent.edits == stack and window.photo.last.z == pytest.approx(stack.apply(window.edit.encoded.z, window.model.info.stats.std))

    window.edit.reset()  # the zero edit is still the photo itself
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), original)


def test_refining_stops_when_asked_and_needs_a_photo(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    assert not ui.refine.start()  # nothing open: a message, not an exception
    assert "open photo" in window.banner.text()
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    with qtbot.waitSignal(ui.refine.progress, timeout=REAL_TIMEOUT_MS):
        ui.refine.start(chunks=50, steps=4)
    ui.stop_refine_action.trigger()
    assert not ui.refine.running and "stopped" in window.banner.text() and not ui.stop_refine_action.isEnabled()
    qtbot.waitUntil(lambda: not window.client.busy, timeout=REAL_TIMEOUT_MS)  # the chunk in flight lands …
    n = len(real.engine.of(p.Refine))
    qtbot.wait(300)
    assert len(real.engine.of(p.Refine)) == n <= 2  # … and no further chunk is sent
    np.testing.assert_array_equal(window.edit.encoded.z, window.photo.current.z)  # the editor and the engine agree
    other = real.engine.handle(p.RenderEdit(full_resolution=True))
    assert not other.changed  # the engine's photo latent is the editor's: the zero edit is exact
