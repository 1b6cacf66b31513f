"""The arithmetic result on the artist's own photo (issue 18): with a photo open, "Apply to photo"
adds the offset that takes the photo's edit to A − B + C (with C = the current edit: A − B) as
one undoable step named by the sum, rendered through the photo loop and pasted back into the
full-resolution photo; the photo is never replaced by the model-resolution result. FakeEngine
first, then the real engine on a tiny checkpoint and scikit-image's astronaut()."""

from __future__ import annotations

import numpy as np
import pytest

from engine.protocol import AddVector, RenderEdit
from tests.editor._photo import open_photo_file, outside, wait_rendered
from tests.editor._semantics import draw_samples, open_astronaut_and_sample
from tests.editor.conftest import TIMEOUT_MS, write_photo


def set_glasses_sum(qtbot, window, timeout: int = TIMEOUT_MS):
    """A = sample 0, B = sample 1, C = the current edit; waits for the result."""
    arith = window.semantics.arithmetic
    arith.slots.set_samples("a", [0])
    arith.slots.set_samples("b", [1])
    assert arith.slots.set_current("c")
    qtbot.waitUntil(lambda: arith.result is not None and arith.up_to_date and not window.client.busy, timeout=timeout)
    return arith.result


def test_the_result_is_one_undoable_step_on_the_full_resolution_photo(qtbot, window, fake, tmp_path):
    path = write_photo(tmp_path / "portrait.png", h=96, w=128, seed=4)
    original = open_photo_file(qtbot, window, path)
    samples = draw_samples(qtbot, window, n=4)
    panel = window.semantics.arithmetic_panel
    assert panel.edit_button.text() == "Apply to photo"
    result = set_glasses_sum(qtbot, window)
    stack, history = window.history.undo_stack, window.edit.stack
    assert history.is_empty and stack.count() == 0

    panel.edit_button.click()
    applied = wait_rendered(qtbot, window)
    assert window.tabs.currentWidget() is window.canvas
    # the photo is still the photo: its file, its pixels at its own size; not the result's crop
    assert window.edit.path == path and not window.edit.is_sample and window.photo.active
    np.testing.assert_array_equal(window.photo.current.photo, original)
    assert applied.shape == original.shape == (96, 128, 3)
    # one AddVector: A − B (C is the photo's own edit), exactly
    (op,) = window.edit.stack.ops
    assert isinstance(op, AddVector) and op.amount == 1.0
    z = np.asarray(samples.z, np.float64)
    np.testing.assert_allclose(op.vector, z[0] - z[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(window.edit.edited_latent(), result.z, atol=1e-5)  # the photo's latent is the result
    # rendered through the photo loop and pasted back: inside the face region only
    render = [r for r in fake.requests if isinstance(r, RenderEdit)][-1]
    assert render.edits == window.edit.stack and render.full_resolution
    region = window.photo.current.region
    keep = outside(region, original.shape)
    assert np.any(applied[~keep] != original[~keep])
    np.testing.assert_array_equal(applied[keep], original[keep])
    # one step, named by the sum
    assert stack.count() == 1 and stack.undoText().startswith("Arithmetic: sample 0")
    assert " − sample 1" in stack.undoText() and "+ current edit" in stack.undoText()
    window.history.undo()
    assert window.edit.stack.is_empty
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)  # exactly the photo again
    window.history.redo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), applied)
    # the step is part of the photo's session like any edit
    with qtbot.waitSignal(window.session.saved, timeout=TIMEOUT_MS):
        window.session.save(tmp_path / "portrait.lsession")
    stacked = window.edit.stack
    window.history.reset_all()
    with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
        window.session.open(tmp_path / "portrait.lsession")
    qtbot.waitUntil(lambda: window.edit.stack == stacked, timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(wait_rendered(qtbot, window), applied)


def test_it_adds_to_the_edit_already_made(qtbot, window, photo):
    open_photo_file(qtbot, window, photo)
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(1.0)
    before = window.edit.stack
    draw_samples(qtbot, window, n=4)
    set_glasses_sum(qtbot, window)
    assert window.semantics.arithmetic.edit_result()
    assert window.edit.stack.ops[:-1] == before.ops and isinstance(window.edit.stack.ops[-1], AddVector)
    window.history.undo()
    assert window.edit.stack == before


def test_without_a_photo_the_result_is_edited_like_a_sample(qtbot, window):
    samples = draw_samples(qtbot, window, n=4)
    window.samples.sampleChosen.emit(2)
    panel, arith = window.semantics.arithmetic_panel, window.semantics.arithmetic
    assert panel.edit_button.text() == "Edit result"
    arith.slots.set_samples("a", [0])
    arith.slots.set_samples("b", [1])
    arith.slots.set_samples("c", [3])
    qtbot.waitUntil(lambda: arith.result is not None and arith.up_to_date, timeout=TIMEOUT_MS)
    panel.edit_button.click()
    z = np.asarray(samples.z)
    assert window.edit.is_sample
    np.testing.assert_allclose(window.edit.edit.z, z[0] - z[1] + z[3], atol=1e-5)


# --------------------------------------------------------------------------- the real engine

REAL_TIMEOUT_MS = 90_000  # the first request imports torch (and dlib) inside the worker thread


def test_real_engine_glasses_sum_on_the_astronaut(qtbot, settings, tiny, tmp_path):
    pytest.importorskip("dlib", reason="face detection needs dlib-bin")
    from tests.editor.conftest import real_engine_window

    path = tmp_path / "astronaut.png"  # written by open_astronaut_and_sample
    with real_engine_window(qtbot, settings, tiny, REAL_TIMEOUT_MS) as window:
        pixels = open_astronaut_and_sample(qtbot, window, tmp_path, REAL_TIMEOUT_MS)
        region = window.photo.current.region
        set_glasses_sum(qtbot, window, REAL_TIMEOUT_MS)
        window.semantics.arithmetic_panel.edit_button.click()
        applied = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        assert applied.shape == pixels.shape and window.edit.path == path
        keep = outside(region, pixels.shape)
        np.testing.assert_array_equal(applied[keep], pixels[keep])  # pasted back inside the face region only
        assert np.abs(applied[~keep].astype(int) - pixels[~keep]).mean() > 0.5  # a visible change there
        assert window.history.undo_stack.count() == 1
        window.history.undo()
        np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), pixels)  # one step back: the original
